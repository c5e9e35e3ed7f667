"""Async chat completions against any OpenAI-compatible endpoint, with limits, retries, cache and costs.

`run_all(requests, cfg, cache)` sends every `ChatRequest` through one `AsyncOpenAI` client and returns
one `ChatResult` per request, in input order. It never raises for a failed request: the result carries
`error` (naming the status and the number of attempts), so what already succeeded is kept.

- Concurrency is bounded by a semaphore; `rpm` and `tpm` are token buckets. tpm is charged with a
  chars/4 estimate of the prompt before the call and corrected with the reported usage after it.
- Retries (ours only: the openai client's own are disabled) use exponential backoff with full jitter
  on 429, 5xx, timeouts, connection errors and malformed bodies; a server's `Retry-After` (seconds,
  HTTP date or `retry-after-ms`) wins when present but never waits past `backoff_max_s`, so `inf`, a
  huge number or a date years ahead costs one capped wait. Other 4xx are final at once.
- Every attempt has a total deadline, `request_deadline_s` (default 2 x `timeout_s`): `timeout_s`
  bounds each read, so a server dripping a byte at a time would never time out without it. An attempt
  past the deadline counts as a timeout (retried, and seen by the circuit breaker).
- Every response body, error bodies included, is read up to `max_response_bytes` (default 1,000,000),
  counted after gunzip so a small compressed body cannot inflate in memory. A larger body is refused
  as `response_too_large`; one in an encoding we did not offer (only gzip is) or in broken gzip as
  `malformed_response`. Both refusals are final: for completions bounded by max_tokens only a broken
  server sends such a body, and retrying would pay for it again.
- Trust nothing in a 200: the body is parsed here, not by the SDK. Anything the chat completions API
  does not return (not JSON, not an object, no `choices` list, a choice or message that is not an
  object, content that is not a string, token counts that are not non-negative integers) is a
  `malformed_response`, retried like an unparseable body; a well-formed answer with no content (no
  choices, content null or "") is a final `empty_response`. Either is one failed result with its
  reason, counted by kind in `summarize`, never an exception that stops the other requests. A
  reported usage, however large, delays the next request by at most a minute of `tpm`.
- The cache (sqlite, one row per answered request, committed per result) is keyed by the sha256 of
  base_url, model, messages, response_format, temperature, max_tokens and seed, so a rerun or an
  interrupted run resumes without HTTP and without duplicates. Failures are not cached.
- A circuit breaker stops the whole run with `EndpointDown` (one message naming the endpoint and the
  error) after `max_consecutive_failures` connection failures or timeouts in a row, or when more than
  `max_error_share` of the finished requests failed (once `error_share_min_requests` have finished).
  What was answered before is in the cache, so a rerun resumes.
- The API key is read from the env var named by `api_key_env` when the client is built. It is not
  stored in the config, the cache, the cache key, the summary or any log line. It is never sent over
  plain http to a non-local host: such a base_url is a config error before any request, unless the
  recipe sets `allow_insecure_http: true`.

The modules, one job each: config (settings and transport rules), messages (request and result),
cache, limits (token buckets), breaker, faults and body (what an attempt returned), request (one
request with retries) and batch (many requests, the summary).
"""

from apiclient.batch import arun_all, make_client, run_all, summarize
from apiclient.breaker import CircuitBreaker, EndpointDown
from apiclient.cache import CACHE_FILE, ResponseCache
from apiclient.config import (
    LOCAL_DUMMY_KEY,
    RESPONSE_FORMATS,
    ClientConfig,
    check_transport,
    insecure_url_problem,
    is_local_url,
    public_config,
    resolve_api_key,
    response_format_for,
)
from apiclient.limits import TokenBucket, estimate_prompt_tokens
from apiclient.messages import ANSWER_FAULTS, ChatRequest, ChatResult

__all__ = [
    "ANSWER_FAULTS", "CACHE_FILE", "LOCAL_DUMMY_KEY", "RESPONSE_FORMATS", "ChatRequest", "ChatResult",
    "CircuitBreaker", "ClientConfig", "EndpointDown", "ResponseCache", "TokenBucket", "arun_all",
    "check_transport", "estimate_prompt_tokens", "insecure_url_problem", "is_local_url", "make_client",
    "public_config", "resolve_api_key", "response_format_for", "run_all", "summarize",
]
