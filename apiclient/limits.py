"""Client-side rate limits: the concurrency bound and token buckets for requests and tokens per minute."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


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


@dataclass
class Limits:
    semaphore: asyncio.Semaphore
    rpm: TokenBucket | None
    tpm: TokenBucket | None
