"""One request with its retries: limits, a whole-attempt deadline, backoff and the server's Retry-After."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import openai

from apiclient.body import read_answer
from apiclient.breaker import CircuitBreaker
from apiclient.config import ClientConfig
from apiclient.faults import Retryable, classify
from apiclient.limits import Limits, estimate_prompt_tokens
from apiclient.messages import ChatRequest, ChatResult

log = logging.getLogger(__name__)


async def _call(client: openai.AsyncOpenAI, req: ChatRequest, cfg: ClientConfig,
                limits: Limits) -> ChatResult:
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
            raise Retryable("timeout", f"no complete response within request_deadline_s "
                                        f"({cfg.request_deadline_s:g} s)") from None
        except Exception as exc:  # classified below; unknown kinds re-raise
            outcome = classify(exc)
            if isinstance(outcome, Retryable):
                raise outcome from None
            return outcome
    latency = time.monotonic() - start
    answer = read_answer(raw.http_response.content)
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
                   limits: Limits, breaker: CircuitBreaker | None = None) -> ChatResult:
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
        except Retryable as fault:
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
