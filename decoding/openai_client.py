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
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import ipaddress
import json
import logging
import math
import os
import random
import sqlite3
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx2
import openai
from tqdm import tqdm

from schemas.config import ConfigError, unknown_keys

log = logging.getLogger(__name__)

RESPONSE_FORMATS = ("json_schema", "json_object_schema", "none")
ANSWER_FAULTS = ("empty_response", "malformed_response", "response_too_large")  # error kinds of a bad body
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
LOCAL_DUMMY_KEY = "sk-local-no-key"  # local servers ignore the key, but the openai client wants one
CACHE_FILE = "openai_cache.sqlite"


# --- config -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    model: str
    api_key_env: str | None = "OPENAI_API_KEY"  # NAME of the env var; null only for a local server
    response_format: str = "json_schema"        # json_schema | json_object_schema (llama.cpp) | none
    temperature: float = 0.7
    max_tokens: int = 256
    concurrency: int = 8
    rpm: float | None = None                    # requests per minute; null = unlimited
    tpm: float | None = None                    # tokens per minute; null = unlimited
    max_retries: int = 5
    timeout_s: float = 60.0
    backoff_base_s: float = 1.0                 # first retry waits up to this, doubling each time
    backoff_max_s: float = 60.0
    price_per_1m_input: float = 0.0             # USD per 1M prompt tokens
    price_per_1m_output: float = 0.0            # USD per 1M completion tokens
    cache_dir: str | None = None                # folder of openai_cache.sqlite; null = caller's output folder
    max_consecutive_failures: int = 10          # connection failures/timeouts in a row that stop the run
    max_error_share: float = 0.5                # share of failed requests that stops the run
    error_share_min_requests: int = 20          # finished requests before the share is judged
    request_deadline_s: float | None = None     # whole attempt, first byte to last; null = 2 x timeout_s
    max_response_bytes: int = 1_000_000         # larger bodies (after gunzip) are refused
    allow_insecure_http: bool = False           # true: allow http:// to a non-local host (key in clear text)

    def __post_init__(self) -> None:
        # Resolved here so the manifest records the deadline that applied, not null.
        if self.request_deadline_s is None:
            object.__setattr__(self, "request_deadline_s", 2 * self.timeout_s)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> ClientConfig:
        """Build from parsed YAML, reporting every problem at once (one line each, naming `where`)."""
        names = [f.name for f in fields(cls)]
        problems = unknown_keys(data, names, where)
        for req in ("base_url", "model"):
            if not data.get(req):
                problems.append(f"{where}: '{req}' is required")
        problems += _check_values(data, where)
        if problems:
            raise ConfigError(problems)
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def is_local(self) -> bool:
        return is_local_url(self.base_url)


def is_local_url(url: str) -> bool:
    """True for this machine only: localhost and loopback addresses, never a name that merely starts so."""
    host = urlparse(url).hostname or ""
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_url_problem(url: Any, allow_insecure_http: Any, where: str) -> str | None:
    """Why plain http to `url` is refused, or None: the key would cross the network in clear text."""
    if not isinstance(url, str) or not url.startswith("http://") or is_local_url(url) \
            or allow_insecure_http is True:
        return None
    return (f"{where}.base_url: '{url}' is plain http to a non-local host and would send the API key in "
            "clear text: use https://, or set allow_insecure_http: true to accept that")


def check_transport(cfg: ClientConfig) -> None:
    """The same refusal for a config built in code (a manifest, a test), before any request."""
    if problem := insecure_url_problem(cfg.base_url, cfg.allow_insecure_http, "openai"):
        raise ConfigError([problem])


def _check_values(data: Mapping[str, Any], where: str) -> list[str]:
    problems = [f"{where}.{key}: expected a string, got {data[key]!r}"
                for key in ("base_url", "model", "api_key_env", "cache_dir")
                if data.get(key) is not None and not isinstance(data[key], str)]
    if "response_format" in data and data["response_format"] not in RESPONSE_FORMATS:
        problems.append(f"{where}.response_format: '{data['response_format']}' is not one of "
                        f"{', '.join(RESPONSE_FORMATS)}")
    positive = ("max_tokens", "concurrency", "rpm", "tpm", "timeout_s", "backoff_max_s",
                "max_consecutive_failures", "error_share_min_requests", "max_error_share",
                "request_deadline_s", "max_response_bytes")
    non_negative = ("temperature", "max_retries", "backoff_base_s", "price_per_1m_input",
                    "price_per_1m_output")
    for key in positive + non_negative:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{where}.{key}: expected a number, got {value!r}")
        elif value < 0 or (key in positive and value == 0):
            problems.append(f"{where}.{key}: must be {'> 0' if key in positive else '>= 0'}, got {value}")
    size = data.get("max_response_bytes")
    if isinstance(size, float):
        problems.append(f"{where}.max_response_bytes: expected an integer, got {size!r}")
    insecure = data.get("allow_insecure_http")
    if insecure is not None and not isinstance(insecure, bool):
        problems.append(f"{where}.allow_insecure_http: expected true or false, got {insecure!r}")
    share = data.get("max_error_share")
    if isinstance(share, int | float) and not isinstance(share, bool) and share > 1:
        problems.append(f"{where}.max_error_share: must be a share in (0, 1], got {share}")
    base_url = data.get("base_url")
    if base_url and not str(base_url).startswith(("http://", "https://")):
        problems.append(f"{where}.base_url: '{base_url}' must start with http:// or https://")
    if problem := insecure_url_problem(base_url, insecure, where):
        problems.append(problem)
    return problems


def resolve_api_key(cfg: ClientConfig) -> str:
    """The key from the env var named in the config; a dummy for local servers without one."""
    if cfg.api_key_env is None:
        if cfg.is_local:
            return LOCAL_DUMMY_KEY
        raise ConfigError([f"api_key_env is null but base_url {cfg.base_url} is not a local server: "
                           "set api_key_env to the NAME of the env var that holds the key"])
    key = os.environ.get(cfg.api_key_env)
    if not key:
        raise ConfigError([f"env var {cfg.api_key_env} (api_key_env) is not set: export it with the API key "
                           f"for {cfg.base_url}, or set api_key_env: null for a local server"])
    return key


def response_format_for(mode: str, schema: dict[str, Any], name: str = "response") -> dict[str, Any] | None:
    """The `response_format` body field for a mode; llama.cpp's server rejects the standard json_schema."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "none":
        return None
    raise ValueError(f"response_format mode '{mode}' is not one of {', '.join(RESPONSE_FORMATS)}")


# --- requests, results, cache ------------------------------------------------------------------------

@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, str]]
    model: str | None = None                 # None: the config's model
    temperature: float | None = None         # None: the config's
    max_tokens: int | None = None            # None: the config's
    response_format: dict[str, Any] | None = None
    seed: int | None = None

    def resolved(self, cfg: ClientConfig) -> ChatRequest:
        return ChatRequest(
            self.messages, self.model or cfg.model,
            cfg.temperature if self.temperature is None else self.temperature,
            cfg.max_tokens if self.max_tokens is None else self.max_tokens,
            self.response_format, self.seed,
        )

    def cache_key(self, base_url: str) -> str:
        """sha256 of everything that changes the answer; never the API key."""
        payload = {"base_url": base_url.rstrip("/"), "model": self.model, "messages": self.messages,
                   "response_format": self.response_format, "temperature": self.temperature,
                   "max_tokens": self.max_tokens, "seed": self.seed}
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class ChatResult:
    content: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0          # the answering HTTP call; 0 when cached
    attempts: int = 0               # HTTP requests made for this result; 0 when cached
    cached: bool = False
    finish_reason: str | None = None
    error: str | None = None        # e.g. "HTTP 503 after 6 attempts: ..."
    error_kind: str | None = None   # http_429, http_500, timeout, connection, malformed_response, ...

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rejection(self) -> str | None:
        """The reason a caller counts a failed result under: a fault of the answer itself by its kind,
        every fault of getting one (status, timeout, connection) as http_error."""
        if self.ok:
            return None
        return self.error_kind if self.error_kind in ANSWER_FAULTS else "http_error"

    def json_answer(self) -> tuple[Any, str | None]:
        """The answer's parsed JSON, or why it has none: "truncated" when the length budget cut it,
        else "invalid_json". Call on an ok result."""
        try:
            return json.loads(self.content or ""), None
        except json.JSONDecodeError:
            return None, "truncated" if self.finish_reason == "length" else "invalid_json"


class ResponseCache:
    """Answered requests in sqlite, committed one by one so an interrupted run loses nothing."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute("create table if not exists responses (key text primary key, content text, "
                         "prompt_tokens integer, completion_tokens integer, finish_reason text, "
                         "created real)")

    @classmethod
    def in_dir(cls, folder: str | Path) -> ResponseCache:
        return cls(Path(folder) / CACHE_FILE)

    def get(self, key: str) -> ChatResult | None:
        row = self._db.execute("select content, prompt_tokens, completion_tokens, finish_reason "
                               "from responses where key = ?", (key,)).fetchone()
        if row is None:
            return None
        return ChatResult(row[0], row[1], row[2], cached=True, finish_reason=row[3])

    def put(self, key: str, result: ChatResult) -> None:
        self._db.execute("insert or replace into responses values (?, ?, ?, ?, ?, ?)",
                         (key, result.content, result.prompt_tokens, result.completion_tokens,
                          result.finish_reason, time.time()))
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("select count(*) from responses").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- rate limits ---------------------------------------------------------------------------------------

class TokenBucket:
    """`per_minute` units refilled continuously; bursts up to one second's worth (at least one request)."""

    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self._last) * self.rate)
        self._last = now

    async def acquire(self, amount: float = 1.0) -> None:
        # A request larger than the bucket waits for a full bucket and leaves it in debt.
        async with self._lock:
            self._refill()
            need = min(amount, self.capacity)
            while self.tokens < need:
                await asyncio.sleep((need - self.tokens) / self.rate)
                self._refill()
            self.tokens -= amount

    def correct(self, delta: float) -> None:
        """Charge (or refund) the difference between estimated and reported usage."""
        self._refill()
        # The usage is the server's word: a bogus count may cost at most a minute's wait, not the run.
        self.tokens = max(-60 * self.rate, min(self.capacity, self.tokens - delta))


def estimate_prompt_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    return max(1, sum(len(m.get("content") or "") for m in messages) // 4)


# --- circuit breaker ----------------------------------------------------------------------------------

class EndpointDown(Exception):
    """The circuit breaker tripped: the endpoint is unreachable, or failing too often to go on."""


class CircuitBreaker:
    """Counts attempts and results of one run; raises EndpointDown when the endpoint looks dead."""

    UNREACHABLE = ("connection", "timeout")

    def __init__(self, cfg: ClientConfig):
        self.cfg = cfg
        self.consecutive = 0
        self.retries = 0
        self.succeeded = 0
        self.failed: Counter[str] = Counter()

    def answered(self) -> None:
        """The server sent a response (any status): it is reachable."""
        self.consecutive = 0

    def attempt_failed(self, kind: str, message: str) -> None:
        if kind not in self.UNREACHABLE:
            return self.answered()
        self.consecutive += 1
        if self.consecutive >= self.cfg.max_consecutive_failures:
            raise EndpointDown(f"endpoint {self.cfg.base_url} unreachable: {message} "
                               f"({self.consecutive} attempts in a row failed)")

    def finished(self, result: ChatResult) -> None:
        if result.ok:
            self.succeeded += 1
            return
        self.failed[result.error_kind or "error"] += 1
        done, bad = self.succeeded + sum(self.failed.values()), sum(self.failed.values())
        if done >= self.cfg.error_share_min_requests and bad / done > self.cfg.max_error_share:
            raise EndpointDown(f"endpoint {self.cfg.base_url} failing: {bad} of {done} requests failed "
                               f"(over max_error_share {self.cfg.max_error_share}); last: {result.error}")

    def postfix(self) -> dict[str, int]:
        return {"ok": self.succeeded, **self.failed, "retries": self.retries}


# --- one request with retries ---------------------------------------------------------------------------

@dataclass
class _Limits:
    semaphore: asyncio.Semaphore
    rpm: TokenBucket | None
    tpm: TokenBucket | None


class _Retryable(Exception):
    def __init__(self, kind: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.kind, self.retry_after = kind, retry_after


class _BodyRefused(Exception):
    """A response body refused while it was read: final, unlike the faults that retrying can fix."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _seconds(value: str, scale: float = 1.0) -> float | None:
    try:
        seconds = float(value) / scale
    except ValueError:
        return None
    return None if math.isnan(seconds) else max(0.0, seconds)


def _retry_after(headers: Any) -> float | None:
    """The server's requested wait in seconds, uncapped (inf allowed); None when absent or unreadable."""
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None and (wait := _seconds(ms, 1000)) is not None:
        return wait
    value = headers.get("retry-after")
    if value is None:
        return None
    if (wait := _seconds(value)) is not None:
        return wait
    try:  # the HTTP-date form
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _classify(exc: Exception) -> _Retryable | ChatResult:
    """A retryable fault, or a final error result for faults that retrying cannot fix."""
    if isinstance(exc, _BodyRefused):
        return ChatResult(None, attempts=1, error=str(exc), error_kind=exc.kind)
    if isinstance(exc, openai.APITimeoutError):
        return _Retryable("timeout", "request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return _Retryable("connection", f"connection error ({exc})")
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        detail = str(exc.message).removeprefix(f"Error code: {code} - ")  # the SDK's prefix repeats the code
        message = f"HTTP {code}: {detail[:200]}"
        if code == 429 or code >= 500:
            return _Retryable(f"http_{code}", message, _retry_after(exc.response.headers))
        return ChatResult(None, attempts=1, error=message, error_kind=f"http_{code}")
    raise exc


@dataclass
class _Answer:
    content: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    refusal: str | None = None


_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "true/false",
               type(None): "null"}


def _malformed(why: str) -> _Retryable:
    return _Retryable("malformed_response", f"malformed response ({why})")


def _token_count(usage: Mapping[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _malformed(f"usage.{key} is not a non-negative integer: {str(value)[:40]!r}")
    return value


def _read_answer(body: bytes) -> _Answer:
    """The parts of a 200 body that we use, each checked; raises a malformed_response fault for any shape
    the chat completions API does not return (the SDK's models would let it through half-built)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # ValueError covers bad JSON and bad UTF-8
        raise _malformed(f"body is not JSON: {str(exc)[:100]}") from None
    if not isinstance(data, dict):
        raise _malformed(f"body is JSON {_JSON_TYPES.get(type(data), 'value')}, not an object")
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise _malformed("no 'choices' list")
    usage = data.get("usage")
    if usage is not None and not isinstance(usage, dict):
        raise _malformed("'usage' is not an object")
    prompt, completion = (_token_count(usage, k) for k in ("prompt_tokens", "completion_tokens")) \
        if usage else (None, None)
    if not choices:
        return _Answer(None, None, prompt, completion)
    choice = choices[0]
    if not isinstance(choice, dict):
        raise _malformed("choices[0] is not an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise _malformed("choices[0].message is missing or not an object")
    content, finish, refusal = message.get("content"), choice.get("finish_reason"), message.get("refusal")
    if content is not None and not isinstance(content, str):
        raise _malformed("choices[0].message.content is not a string")
    if finish is not None and not isinstance(finish, str):
        raise _malformed("choices[0].finish_reason is not a string")
    return _Answer(content, finish, prompt, completion, refusal if isinstance(refusal, str) else None)


class _CappedBody(httpx2.AsyncByteStream):
    """A response body that fails once it passes `limit` bytes, counted after gunzip."""

    def __init__(self, raw: httpx2.AsyncByteStream, limit: int, gzipped: bool, status: int):
        self.raw, self.limit, self.gzipped, self.status = raw, limit, gzipped, status

    async def __aiter__(self) -> AsyncIterator[bytes]:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if self.gzipped else None
        size = 0
        async for chunk in self.raw:
            if inflate is not None:
                try:
                    # max_length: a few KB of gzip cannot inflate to more than the limit in memory.
                    chunk = inflate.decompress(chunk, self.limit + 1 - size)
                except zlib.error as exc:
                    raise _BodyRefused("malformed_response", f"malformed gzip body ({exc})") from None
            size += len(chunk)
            if size > self.limit:
                raise _BodyRefused("response_too_large",
                                   f"HTTP {self.status} body is over max_response_bytes ({self.limit})")
            if chunk:
                yield chunk

    async def aclose(self) -> None:
        await self.raw.aclose()


def _body_cap(limit: int) -> Callable[[httpx2.Response], Awaitable[None]]:
    """An httpx response hook: it runs before any body is read, for every status and every redirect."""
    async def cap(response: httpx2.Response) -> None:
        listed = response.headers.get_list("content-encoding", split_commas=True)
        encodings = [e for e in (v.strip().lower() for v in listed) if e and e != "identity"]
        if encodings not in ([], ["gzip"]):
            raise _BodyRefused("malformed_response", f"HTTP {response.status_code} body in content-encoding "
                                                     f"{', '.join(encodings)}, which was not asked for")
        declared = response.headers.get("content-length", "")
        if not encodings and declared.isdigit() and int(declared) > limit:
            raise _BodyRefused("response_too_large", f"HTTP {response.status_code} body of {declared} bytes "
                                                     f"is over max_response_bytes ({limit})")
        # We inflate (bounded) ourselves, so httpx must not inflate again.
        response.headers.pop("content-encoding", None)
        response.stream = _CappedBody(response.stream, limit, bool(encodings), response.status_code)
    return cap


async def _call(client: openai.AsyncOpenAI, req: ChatRequest, cfg: ClientConfig,
                limits: _Limits) -> ChatResult:
    estimate = estimate_prompt_tokens(req.messages)
    async with limits.semaphore:
        if limits.rpm:
            await limits.rpm.acquire(1)
        if limits.tpm:
            await limits.tpm.acquire(estimate)
        start = time.monotonic()
        try:
            # The deadline covers the whole attempt, body included: timeout_s only bounds each read.
            async with asyncio.timeout(cfg.request_deadline_s):
                raw = await client.chat.completions.with_raw_response.create(
                    model=req.model, messages=req.messages, temperature=req.temperature,
                    max_tokens=req.max_tokens,
                    response_format=req.response_format if req.response_format else openai.NOT_GIVEN,
                    seed=req.seed if req.seed is not None else openai.NOT_GIVEN,
                )
        except TimeoutError:
            raise _Retryable("timeout", f"no complete response within request_deadline_s "
                                        f"({cfg.request_deadline_s:g} s)") from None
        except Exception as exc:  # classified below; unknown kinds re-raise
            outcome = _classify(exc)
            if isinstance(outcome, _Retryable):
                raise outcome from None
            return outcome
    latency = time.monotonic() - start
    answer = _read_answer(raw.http_response.content)
    prompt = estimate if answer.prompt_tokens is None else answer.prompt_tokens
    completion = answer.completion_tokens or 0
    if limits.tpm:
        limits.tpm.correct(prompt + completion - estimate)
    if not answer.content:
        why = f"refusal: {answer.refusal[:200]}" if answer.refusal else "no message content"
        return ChatResult(None, prompt, completion, latency, 1, finish_reason=answer.finish_reason,
                          error=f"empty response ({why})", error_kind="empty_response")
    return ChatResult(answer.content, prompt, completion, latency, 1, finish_reason=answer.finish_reason)


async def complete(client: openai.AsyncOpenAI, req: ChatRequest, cfg: ClientConfig,
                   limits: _Limits, breaker: CircuitBreaker | None = None) -> ChatResult:
    """One request with our retries: backoff with full jitter, or the server's Retry-After up to
    backoff_max_s."""
    attempts = cfg.max_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            result = await _call(client, req, cfg, limits)
            result.attempts = attempt
            if breaker:
                breaker.answered()
            return result
        except _Retryable as fault:
            if breaker:
                breaker.attempt_failed(fault.kind, str(fault))
            if attempt == attempts:
                return ChatResult(None, attempts=attempt, error_kind=fault.kind,
                                  error=f"{fault} after {attempt} attempts")
            if fault.retry_after is None:
                delay = random.uniform(0, min(cfg.backoff_max_s, cfg.backoff_base_s * 2 ** (attempt - 1)))
            else:
                # Never trust the wait the server asks for: inf or a date years ahead would stall the run.
                delay = min(fault.retry_after, cfg.backoff_max_s)
            log.info("retrying after %s (attempt %d/%d), waiting %.2f s", fault, attempt, attempts, delay)
            if breaker:
                breaker.retries += 1
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


# --- many requests ------------------------------------------------------------------------------------

def make_client(cfg: ClientConfig) -> openai.AsyncOpenAI:
    check_transport(cfg)
    # Only gzip is offered: the one encoding that _CappedBody inflates with a bound.
    http = openai.DefaultAsyncHttpx2Client(headers={"Accept-Encoding": "gzip"},
                                           event_hooks={"response": [_body_cap(cfg.max_response_bytes)]})
    # max_retries=0: our retry loop is the only one, so attempts and backoff are what we report.
    return openai.AsyncOpenAI(base_url=cfg.base_url, api_key=resolve_api_key(cfg), max_retries=0,
                              timeout=cfg.timeout_s, http_client=http)


async def arun_all(requests: Sequence[ChatRequest], cfg: ClientConfig, cache: ResponseCache | None = None,
                   progress: bool = True) -> list[ChatResult]:
    """Results in input order; identical requests share one call; each answer is cached as it lands.

    Raises EndpointDown when the circuit breaker trips (answers so far stay in the cache)."""
    resolved = [r.resolved(cfg) for r in requests]
    keys = [r.cache_key(cfg.base_url) for r in resolved]
    results: dict[str, ChatResult] = {}
    pending: dict[str, ChatRequest] = {}
    for key, req in zip(keys, resolved, strict=True):
        hit = cache.get(key) if cache is not None and key not in results else None
        if hit is not None:
            results[key] = hit
        elif key not in results:
            pending[key] = req
    counts = Counter(keys)
    client = make_client(cfg) if pending else None  # a config error here leaves no progress bar behind
    bar = tqdm(total=len(requests), disable=not progress, desc=f"chat {cfg.model}", unit="req")
    bar.update(sum(counts[k] for k in results))
    limits = _Limits(asyncio.Semaphore(cfg.concurrency), cfg.rpm and TokenBucket(cfg.rpm),
                     cfg.tpm and TokenBucket(cfg.tpm))
    breaker = CircuitBreaker(cfg)

    async def one(key: str, req: ChatRequest) -> None:
        result = await complete(client, req, cfg, limits, breaker)
        if result.ok and cache is not None:
            cache.put(key, result)
        results[key] = result
        bar.update(counts[key])
        bar.set_postfix(breaker.postfix(), refresh=False)
        breaker.finished(result)

    try:
        # A TaskGroup cancels the siblings if one fails (a tripped breaker, or the caller cancels us),
        # so the client is never closed under requests still in flight.
        async with asyncio.TaskGroup() as group:
            for key, req in pending.items():
                group.create_task(one(key, req))
    except* EndpointDown as tripped:
        raise tripped.exceptions[0] from None
    finally:
        bar.close()
        if client is not None:
            await client.close()
    return [results[k] for k in keys]


def run_all(requests: Sequence[ChatRequest], cfg: ClientConfig, cache: ResponseCache | None = None,
            progress: bool = True) -> list[ChatResult]:
    """Blocking wrapper around `arun_all` for callers outside an event loop."""
    return asyncio.run(arun_all(requests, cfg, cache, progress))


def summarize(results: Sequence[ChatResult], cfg: ClientConfig) -> dict[str, Any]:
    """Counts, tokens and cost; `cost_usd` is this run's spend, `cost_usd_total` includes cached answers."""
    def cost(rs: Sequence[ChatResult]) -> float:
        return sum(r.prompt_tokens * cfg.price_per_1m_input + r.completion_tokens * cfg.price_per_1m_output
                   for r in rs) / 1e6

    fresh = [r for r in results if not r.cached]
    answered = [r for r in fresh if r.ok]
    return {
        "requests": len(results),
        "cached": len(results) - len(fresh),
        "http_requests": sum(r.attempts for r in fresh),
        "errors": dict(Counter(r.error_kind for r in results if not r.ok)),
        "prompt_tokens": sum(r.prompt_tokens for r in results),
        "completion_tokens": sum(r.completion_tokens for r in results),
        "cost_usd": round(cost(fresh), 6),
        "cost_usd_total": round(cost(results), 6),
        "mean_latency_s": round(sum(r.latency_s for r in answered) / len(answered), 3) if answered else None,
    }


def public_config(cfg: ClientConfig) -> dict[str, Any]:
    """The resolved config for a manifest: names the key's env var, never holds the key."""
    return asdict(cfg)
