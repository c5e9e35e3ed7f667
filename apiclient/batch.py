"""Many requests through one client: deduplicated, cached as they land, summarised with their cost."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

import openai
from tqdm import tqdm

from apiclient.body import body_cap
from apiclient.breaker import CircuitBreaker, EndpointDown
from apiclient.cache import ResponseCache
from apiclient.config import ClientConfig, check_transport, resolve_api_key
from apiclient.limits import Limits, TokenBucket
from apiclient.messages import ChatRequest, ChatResult
from apiclient.request import complete


def make_client(cfg: ClientConfig) -> openai.AsyncOpenAI:
    check_transport(cfg)
    # Only gzip is offered: the one encoding that the body cap inflates with a bound.
    http = openai.DefaultAsyncHttpx2Client(headers={"Accept-Encoding": "gzip"},
                                           event_hooks={"response": [body_cap(cfg.max_response_bytes)]})
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
    limits = Limits(asyncio.Semaphore(cfg.concurrency), cfg.rpm and TokenBucket(cfg.rpm),
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
