"""Concurrent requests share one decode: an asyncio queue and one worker that drains it in batches.

Each query of each request is one queue item with its own future. The worker takes the first item,
waits up to `max_wait_ms` for more (up to `max_batch`), decodes them in one call on a worker thread
(torch releases the GIL, so the event loop keeps accepting requests) and resolves the futures.
`queue_limit` bounds the queries waiting or decoding: past it, `submit` raises QueueFull (HTTP 503).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


class QueueFull(Exception):
    pass


@dataclass
class BatchStats:
    batches: int = 0
    queries: int = 0
    largest_batch: int = 0
    decode_seconds: float = 0.0
    sizes: list[int] = field(default_factory=list)  # the last 100 batch sizes

    def record(self, size: int, seconds: float) -> None:
        self.batches += 1
        self.queries += size
        self.largest_batch = max(self.largest_batch, size)
        self.decode_seconds += seconds
        self.sizes = (self.sizes + [size])[-100:]


class Batcher:
    def __init__(self, decode: Callable[[list[str]], list[Any]], max_batch: int, max_wait_ms: int,
                 queue_limit: int):
        self.decode, self.max_batch, self.max_wait = decode, max_batch, max_wait_ms / 1000
        self.queue_limit = queue_limit
        self.in_flight = 0  # queries submitted and not yet answered
        self.stats = BatchStats()
        self._queue: asyncio.Queue[tuple[str, asyncio.Future]] | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._work())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def submit(self, queries: Sequence[str]) -> list[Any]:
        assert self._queue is not None, "Batcher.start() was not awaited"
        if self.in_flight + len(queries) > self.queue_limit:
            raise QueueFull(f"{self.in_flight} queries queued; the limit is {self.queue_limit}")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in queries]
        self.in_flight += len(queries)
        try:
            for q, f in zip(queries, futures, strict=True):
                self._queue.put_nowait((q, f))
            return list(await asyncio.gather(*futures))
        finally:
            self.in_flight -= len(queries)

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            items = [await self._queue.get()]
            deadline = time.monotonic() + self.max_wait
            while len(items) < self.max_batch:
                timeout = deadline - time.monotonic()
                if timeout <= 0 and self._queue.empty():
                    break
                try:
                    items.append(await asyncio.wait_for(self._queue.get(), max(timeout, 0)))
                except TimeoutError:
                    break
            t0 = time.perf_counter()
            try:
                results = await asyncio.to_thread(self.decode, [q for q, _ in items])
            except Exception as exc:  # one bad batch must not kill the worker
                for _, f in items:
                    if not f.done():
                        f.set_exception(exc)
                continue
            self.stats.record(len(items), time.perf_counter() - t0)
            for (_, f), r in zip(items, results, strict=True):
                if not f.done():
                    f.set_result(r)
