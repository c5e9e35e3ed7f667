"""The batcher's fault handling, with stand-ins for decode faults the real model cannot be made to produce
on demand: a decode that hangs in native code, one that answers the wrong number of results, one that
raises for one query. Each stand-in is named Fake*; the Batcher, the app and HTTP are the real ones."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import replace

import pytest
from client import call
from servers import free_port

from decoding.engine import DeadlineExceeded
from serve.app import serving
from serve.batcher import Batcher, BatchFailed, QueryFailed, WorkerCrashed, WorkerStuck
from serve.config import load_serve_config


def fake_parse(queries: list[str], deadline: float | None = None) -> list[dict]:
    return [{"intent": "play", "entities": [], "status": "ok", "echo": q} for q in queries]


class FakeDecodeFailingOn:
    """Raises for any batch holding `culprit`, as a query that breaks the grammar compiler would."""

    def __init__(self, culprit: str):
        self.culprit, self.calls = culprit, []

    def __call__(self, queries: list[str], deadline: float) -> list[dict]:
        self.calls.append(list(queries))
        if self.culprit in queries:
            raise ValueError("grammar rejected")
        return fake_parse(queries)


class FakeShortDecode:
    """Answers one result too few the first time: the worker used to die on it, silently."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, queries: list[str], deadline: float) -> list[dict]:
        self.calls += 1
        return fake_parse(queries)[: -1 if self.calls == 1 else None]


class FakeHangingDecode:
    """Blocks until released, ignoring its deadline, as a forward pass stuck in native code would."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, queries: list[str], deadline: float) -> list[dict]:
        self.release.wait(60)
        return fake_parse(queries)


async def started(decode, timeout_s: float = 5) -> Batcher:
    batcher = Batcher(decode, max_batch=8, max_wait_ms=50, queue_limit=64, timeout_s=timeout_s)
    await batcher.start()
    return batcher


def test_one_failing_query_never_fails_its_neighbours() -> None:
    async def scenario() -> None:
        decode = FakeDecodeFailingOn("boom")
        batcher = await started(decode)
        a, b, c = await asyncio.gather(batcher.submit(["play Dune"]), batcher.submit(["x", "boom"]),
                                       batcher.submit(["play Alien"]), return_exceptions=True)
        await batcher.stop()
        assert a[0]["echo"] == "play Dune" and c[0]["echo"] == "play Alien"  # other requests: answered
        assert isinstance(b, BatchFailed) and b.index == 1 and isinstance(b.cause, QueryFailed)
        assert str(b.cause) == "ValueError while decoding"  # one line, no traceback
        assert decode.calls[0] == ["play Dune", "x", "boom", "play Alien"]  # they met in one batch
        assert batcher.stats.failed_queries == 1

    asyncio.run(scenario())


def test_a_crashed_worker_fails_what_it_held_and_is_restarted() -> None:
    async def scenario() -> None:
        batcher = await started(FakeShortDecode())
        first = await asyncio.gather(batcher.submit(["a", "b"]), return_exceptions=True)
        assert isinstance(first[0], BatchFailed) and isinstance(first[0].cause, WorkerCrashed)
        await asyncio.sleep(0)
        assert batcher.restarts == 1 and batcher.worker_state() == "alive"
        assert [r["echo"] for r in await batcher.submit(["c", "d"])] == ["c", "d"]
        await batcher.stop()

    asyncio.run(scenario())


def test_a_hung_decode_answers_504_then_reads_as_stuck() -> None:
    async def scenario() -> None:
        decode = FakeHangingDecode()
        batcher = await started(decode, timeout_s=0.5)
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            await batcher.submit(["a"])
        assert time.monotonic() - t0 < 2
        await asyncio.sleep(0.6)  # the decode has run for over twice the timeout
        assert batcher.worker_state() == "stuck"
        with pytest.raises(WorkerStuck):
            await batcher.submit(["b"])
        decode.release.set()
        await asyncio.sleep(0.2)
        assert batcher.worker_state() == "alive"
        assert (await batcher.submit(["c"]))[0]["echo"] == "c"
        await batcher.stop()

    asyncio.run(scenario())


def app_over_http(decode, **changes: object) -> AbstractContextManager[str]:
    return serving(decode, replace(load_serve_config(), port=free_port(), **changes))


def test_healthz_says_503_while_the_worker_is_stuck() -> None:
    """/healthz said ok while every request hung; now it reports the worker and answers 503."""
    hanging = FakeHangingDecode()
    with app_over_http(hanging, request_timeout_s=1) as url:
        assert call(url, "/healthz", method="GET").json["worker"] == "alive"
        answer = call(url, body={"query": "play Dune"})
        assert answer.status == 504 and answer.json == {"detail": "no answer within 1 s; retry later or with "
                                                                  "fewer queries"}
        time.sleep(1.2)
        health = call(url, "/healthz", method="GET")
        assert health.status == 503 and health.json["worker"] == "stuck" and int(health.headers["retry-after"]) >= 1
        busy = call(url, body={"query": "play Alien"})
        assert busy.status == 503 and "retry-after" in busy.headers
        hanging.release.set()
        time.sleep(0.3)
        assert call(url, "/healthz", method="GET").status == 200
        assert call(url, body={"query": "play Alien"}).status == 200


def test_a_query_that_fails_alone_is_a_one_line_500_for_its_request_only() -> None:
    decode = FakeDecodeFailingOn("boom")
    with app_over_http(decode, max_wait_ms=300) as url:
        with ThreadPoolExecutor(2) as pool:
            bad, good = pool.map(lambda body: call(url, body=body), [{"queries": ["x", "boom"]},
                                                                      {"query": "play Dune"}])
    assert good.status == 200
    assert bad.status == 500 and bad.json == {"detail": "queries[1]: could not be decoded (ValueError while "
                                                        "decoding); the service log has the details"}
