"""Concurrent requests share one decode: an asyncio queue and one supervised worker that drains it in batches.

Each query of each request is one queue item with its own future and deadline. The worker takes the
first item, waits up to `max_wait_ms` for more (up to `max_batch`), decodes them in one call on a worker
thread (torch releases the GIL, so the event loop keeps accepting requests) and resolves the futures.

What keeps one request from hurting the others:
- `queue_limit` bounds the queries waiting or decoding: past it, `submit` raises QueueFull (HTTP 503).
- Every request has a deadline (`timeout_s` after it arrived). `submit` stops waiting at it
  (DeadlineExceeded, HTTP 504) and the decode is told the latest deadline of its batch, so the engine
  stops between two steps once nobody in the batch can still be answered.
- A batch that fails is retried query by query, so only the query that fails gets the error
  (QueryFailed); its neighbours, from other requests too, get their answers.
- The worker task is supervised: if it dies outside its own error handling, the futures it held are
  failed (WorkerCrashed) and a new worker starts. A decode thread that never returns cannot be
  interrupted; the worker then reads as stuck (`health()`), and new requests are refused (503) until it
  returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from decoding.engine import DeadlineExceeded

log = logging.getLogger("serve")


class QueueFull(Exception):
    pass


class WorkerStuck(Exception):
    pass


class QueryFailed(Exception):
    """Decoding this query alone failed: a server fault, reported without the traceback."""


class WorkerCrashed(Exception):
    pass


class BatchFailed(Exception):
    """Query `index` of a submitted list got no answer; `cause` says why (the first such query)."""

    def __init__(self, index: int, cause: BaseException):
        super().__init__(f"query {index}: {type(cause).__name__}: {cause}")
        self.index, self.cause = index, cause


@dataclass
class BatchStats:
    batches: int = 0
    queries: int = 0
    largest_batch: int = 0
    deadline_stops: int = 0  # decodes stopped between steps because nobody could still be answered
    failed_queries: int = 0  # queries that failed alone (QueryFailed) after their batch failed
    decode_seconds: float = 0.0
    sizes: list[int] = field(default_factory=list)  # the last 100 batch sizes

    def record(self, size: int, seconds: float) -> None:
        self.batches += 1
        self.queries += size
        self.largest_batch = max(self.largest_batch, size)
        self.decode_seconds += seconds
        self.sizes = (self.sizes + [size])[-100:]

    def seconds_per_query(self) -> float:
        return self.decode_seconds / self.queries if self.queries else 1.0


@dataclass
class _Item:
    query: str
    future: asyncio.Future
    deadline: float  # time.monotonic() past which nobody waits for this answer


Decode = Callable[[list[str], float], list[Any]]  # (queries, deadline) -> one result per query


class Batcher:
    def __init__(self, decode: Decode, max_batch: int, max_wait_ms: int, queue_limit: int, timeout_s: float):
        self.decode, self.max_batch, self.max_wait = decode, max_batch, max_wait_ms / 1000
        self.queue_limit, self.timeout_s = queue_limit, timeout_s
        self.in_flight = 0  # queries submitted and not yet answered
        self.restarts = 0   # workers replaced after a crash
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task | None = None
        self._in_hand: list[_Item] = []
        self._busy_since: float | None = None  # when the current decode call began
        self._stopping = False

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._spawn()

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def worker_state(self) -> str:
        """alive, stuck (one decode call has run for twice the request timeout: a step that never
        returns, since the engine stops between steps at the deadline) or dead (not running)."""
        if self._task is None or self._task.done():
            return "dead"
        if self._busy_since is not None and time.monotonic() - self._busy_since > 2 * self.timeout_s:
            return "stuck"
        return "alive"

    def retry_after(self) -> int:
        """Seconds a refused client should wait: the queue ahead of it at the recent decode rate."""
        return max(1, min(60, round(self.in_flight * self.stats.seconds_per_query())))

    async def submit(self, queries: Sequence[str]) -> list[Any]:
        assert self._queue is not None, "Batcher.start() was not awaited"
        if self.worker_state() != "alive":
            raise WorkerStuck(f"the decode worker is {self.worker_state()}")
        if self.in_flight + len(queries) > self.queue_limit:
            raise QueueFull(f"{self.in_flight} queries queued; the limit is {self.queue_limit}")
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self.timeout_s
        items = [_Item(q, loop.create_future(), deadline) for q in queries]
        self.in_flight += len(items)
        try:
            for item in items:
                self._queue.put_nowait(item)
            waiting = asyncio.gather(*(i.future for i in items), return_exceptions=True)
            try:
                results = await asyncio.wait_for(waiting, self.timeout_s)
            except TimeoutError:  # wait_for cancelled the futures: the worker skips them
                raise DeadlineExceeded(f"no answer within {self.timeout_s:g} s") from None
        finally:
            self.in_flight -= len(items)
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                raise BatchFailed(index, result)
        return results

    # --- the worker ---------------------------------------------------------------------------------

    def _spawn(self) -> None:
        self._task = asyncio.create_task(self._work())
        self._task.add_done_callback(self._on_worker_exit)

    def _on_worker_exit(self, task: asyncio.Task) -> None:
        if self._stopping or task.cancelled():
            return
        exc = task.exception()
        log.error("decode worker crashed (%s: %s); %d queries failed, worker restarted",
                  type(exc).__name__, exc, len(self._in_hand))
        _fail(self._in_hand, WorkerCrashed(f"the decode worker crashed ({type(exc).__name__})"))
        self._in_hand, self._busy_since = [], None
        self.restarts += 1
        self._spawn()

    async def _work(self) -> None:
        while True:
            self._in_hand = await self._collect()
            await self._run([i for i in self._in_hand if not i.future.done()])
            self._in_hand = []

    async def _collect(self) -> list[_Item]:
        """The next batch: the first live item, then whatever arrives within max_wait (up to max_batch)."""
        assert self._queue is not None
        first = await self._queue.get()
        while first.future.done():  # its request already gave up
            first = await self._queue.get()
        items = [first]
        until = time.monotonic() + self.max_wait
        while len(items) < self.max_batch:
            timeout = until - time.monotonic()
            if timeout <= 0 and self._queue.empty():
                break
            try:
                items.append(await asyncio.wait_for(self._queue.get(), max(timeout, 0)))
            except TimeoutError:
                break
        return items

    async def _run(self, items: list[_Item]) -> None:
        if not items:
            return
        t0 = time.perf_counter()
        try:
            results = await self._decode([i.query for i in items], max(i.deadline for i in items))
        except DeadlineExceeded as exc:
            self.stats.deadline_stops += 1
            _fail(items, exc)
            return
        except Exception as exc:  # any fault of the batch: find the query that causes it
            log.warning("batch of %d failed (%s: %s); retrying query by query", len(items),
                        type(exc).__name__, exc)
            await self._one_by_one(items)
            return
        self.stats.record(len(items), time.perf_counter() - t0)
        _resolve(items, results)

    async def _one_by_one(self, items: list[_Item]) -> None:
        for item in items:
            if item.future.done():
                continue
            try:
                result = (await self._decode([item.query], item.deadline))[0]
            except DeadlineExceeded as exc:
                self.stats.deadline_stops += 1
                _fail([item], exc)
            except Exception as exc:  # this query alone fails: it alone gets the error
                self.stats.failed_queries += 1
                log.exception("query failed alone (%d characters)", len(item.query))
                _fail([item], QueryFailed(f"{type(exc).__name__} while decoding"))
            else:
                _resolve([item], [result])

    async def _decode(self, queries: list[str], deadline: float) -> list[Any]:
        self._busy_since = time.monotonic()
        try:
            return await asyncio.to_thread(self.decode, queries, deadline)
        finally:
            self._busy_since = None


def _resolve(items: list[_Item], results: list[Any]) -> None:
    # A decode that answers the wrong number of queries is a fault of the worker, not of one query: it
    # ends the worker (the supervisor fails the batch and restarts it) before any future gets a wrong answer.
    if len(results) != len(items):
        raise RuntimeError(f"decode returned {len(results)} results for {len(items)} queries")
    for item, result in zip(items, results, strict=True):
        if not item.future.done():
            item.future.set_result(result)


def _fail(items: list[_Item], exc: BaseException) -> None:
    for item in items:
        if not item.future.done():
            item.future.set_exception(exc)
