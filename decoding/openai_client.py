"""Async chat completions against any OpenAI-compatible endpoint, with limits, retries, cache and costs.

`run_all(requests, cfg, cache)` sends every `ChatRequest` through one `AsyncOpenAI` client and returns
one `ChatResult` per request, in input order. It never raises for a failed request: the result carries
`error` (naming the status and the number of attempts), so what already succeeded is kept.

- Concurrency is bounded by a semaphore; `rpm` and `tpm` are token buckets. tpm is charged with a
  chars/4 estimate of the prompt before the call and corrected with the reported usage after it.
- Retries (ours only: the openai client's own are disabled) use exponential backoff with full jitter
  on 429, 5xx, timeouts, connection errors and unparseable bodies; `Retry-After` wins when present.
  Other 4xx are final at once.
- The cache (sqlite, one row per answered request, committed per result) is keyed by the sha256 of
  base_url, model, messages, response_format, temperature, max_tokens and seed, so a rerun or an
  interrupted run resumes without HTTP and without duplicates. Failures are not cached.
- A circuit breaker stops the whole run with `EndpointDown` (one message naming the endpoint and the
  error) after `max_consecutive_failures` connection failures or timeouts in a row, or when more than
  `max_error_share` of the finished requests failed (once `error_share_min_requests` have finished).
  What was answered before is in the cache, so a rerun resumes.
- The API key is read from the env var named by `api_key_env` when the client is built. It is not
  stored in the config, the cache, the cache key, the summary or any log line.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import logging
import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import openai
from tqdm import tqdm

from schemas.config import ConfigError, unknown_keys

log = logging.getLogger(__name__)

RESPONSE_FORMATS = ("json_schema", "json_object_schema", "none")
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
        return urlparse(self.base_url).hostname in LOCAL_HOSTS


def _check_values(data: Mapping[str, Any], where: str) -> list[str]:
    problems = [f"{where}.{key}: expected a string, got {data[key]!r}"
                for key in ("base_url", "model", "api_key_env", "cache_dir")
                if data.get(key) is not None and not isinstance(data[key], str)]
    if "response_format" in data and data["response_format"] not in RESPONSE_FORMATS:
        problems.append(f"{where}.response_format: '{data['response_format']}' is not one of "
                        f"{', '.join(RESPONSE_FORMATS)}")
    positive = ("max_tokens", "concurrency", "rpm", "tpm", "timeout_s", "backoff_max_s",
                "max_consecutive_failures", "error_share_min_requests", "max_error_share")
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
    share = data.get("max_error_share")
    if isinstance(share, int | float) and not isinstance(share, bool) and share > 1:
        problems.append(f"{where}.max_error_share: must be a share in (0, 1], got {share}")
    base_url = data.get("base_url")
    if base_url and not str(base_url).startswith(("http://", "https://")):
        problems.append(f"{where}.base_url: '{base_url}' must start with http:// or https://")
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
        self.tokens = min(self.capacity, self.tokens - delta)


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


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the HTTP-date form
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _classify(exc: Exception) -> _Retryable | ChatResult:
    """A retryable fault, or a final error result for faults that retrying cannot fix."""
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
    if isinstance(exc, json.JSONDecodeError | openai.APIResponseValidationError):
        return _Retryable("malformed_response", f"malformed response body ({exc})")
    raise exc


async def _call(client: openai.AsyncOpenAI, req: ChatRequest, limits: _Limits) -> ChatResult:
    estimate = estimate_prompt_tokens(req.messages)
    async with limits.semaphore:
        if limits.rpm:
            await limits.rpm.acquire(1)
        if limits.tpm:
            await limits.tpm.acquire(estimate)
        start = time.monotonic()
        try:
            resp = await client.chat.completions.create(
                model=req.model, messages=req.messages, temperature=req.temperature,
                max_tokens=req.max_tokens,
                response_format=req.response_format if req.response_format else openai.NOT_GIVEN,
                seed=req.seed if req.seed is not None else openai.NOT_GIVEN,
            )
        except Exception as exc:  # classified below; unknown kinds re-raise
            outcome = _classify(exc)
            if isinstance(outcome, _Retryable):
                raise outcome from None
            return outcome
    latency = time.monotonic() - start
    usage = resp.usage
    prompt = usage.prompt_tokens if usage else estimate
    completion = usage.completion_tokens if usage else 0
    if limits.tpm:
        limits.tpm.correct(prompt + completion - estimate)
    choice = resp.choices[0] if resp.choices else None
    content = choice.message.content if choice else None
    if not content:
        return ChatResult(None, prompt, completion, latency, 1, finish_reason=choice and choice.finish_reason,
                          error="empty response (no message content)", error_kind="empty_response")
    return ChatResult(content, prompt, completion, latency, 1, finish_reason=choice.finish_reason)


async def complete(client: openai.AsyncOpenAI, req: ChatRequest, cfg: ClientConfig,
                   limits: _Limits, breaker: CircuitBreaker | None = None) -> ChatResult:
    """One request with our retries: backoff with full jitter, or the server's Retry-After."""
    attempts = cfg.max_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            result = await _call(client, req, limits)
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
            delay = fault.retry_after
            if delay is None:
                delay = random.uniform(0, min(cfg.backoff_max_s, cfg.backoff_base_s * 2 ** (attempt - 1)))
            log.info("retrying after %s (attempt %d/%d), waiting %.2f s", fault, attempt, attempts, delay)
            if breaker:
                breaker.retries += 1
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


# --- many requests ------------------------------------------------------------------------------------

def make_client(cfg: ClientConfig) -> openai.AsyncOpenAI:
    # max_retries=0: our retry loop is the only one, so attempts and backoff are what we report.
    return openai.AsyncOpenAI(base_url=cfg.base_url, api_key=resolve_api_key(cfg), max_retries=0,
                              timeout=cfg.timeout_s)


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
    bar = tqdm(total=len(requests), disable=not progress, desc=f"chat {cfg.model}", unit="req")
    bar.update(sum(counts[k] for k in results))
    limits = _Limits(asyncio.Semaphore(cfg.concurrency), cfg.rpm and TokenBucket(cfg.rpm),
                     cfg.tpm and TokenBucket(cfg.tpm))
    client = make_client(cfg) if pending else None
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
