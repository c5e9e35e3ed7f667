"""The service under load and faults: a real `python -m serve` process, asyncio clients for a set duration.

Each of `concurrency` clients sends one request after another, drawing its kind by weight:
  valid      1-2 heldout queries (each a distinct grammar, so the grammar cache is exercised)
  expensive  a query at the word limit (decoded), or one far over it (refused with 422)
  oversize   a 400 KB body (refused with 413 before parsing)
  unicode    a query with a lone surrogate (refused with 422)
  slow       a valid body drip-fed a byte at a time (cut off with 408 after body_timeout_s)
Requests are raw HTTP/1.1 over asyncio streams, so a drip-fed body is really drip-fed. The service's
resident memory is sampled throughout. Figures: requests by kind and status, valid-request latency
percentiles, 5xx counts, client-side hangs, resident memory after warm-up and at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil

KINDS = {"valid": 0.70, "expensive": 0.10, "oversize": 0.07, "unicode": 0.07, "slow": 0.06}
CLIENT_TIMEOUT_S = 120  # a request unanswered this long counts as a hang
WARM_UP_SHARE = 0.2     # memory "after warm-up" is read this far into the run


@dataclass
class Tally:
    by_kind: Counter = field(default_factory=Counter)        # (kind, status) -> requests
    valid_ms: list[float] = field(default_factory=list)      # every valid request's latency
    memory: list[tuple[float, int]] = field(default_factory=list)  # (seconds into the run, RSS bytes)


async def http(port: int, body: bytes, drip_s: float | None = None) -> int:
    """POST /v1/parse; the status, or 0 when the server closed the connection without an answer. The body
    is sent while the answer is awaited, so a server that answers early (413, 408) is heard."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (f"POST /v1/parse HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()

    async def send() -> None:
        writer.write(head)
        if drip_s is None:
            writer.write(body)
        else:
            for i in range(len(body)):
                writer.write(body[i:i + 1])
                await writer.drain()
                await asyncio.sleep(drip_s)
        await writer.drain()

    sender = asyncio.create_task(send())
    try:
        status_line = await reader.readline()
        return int(status_line.split()[1]) if status_line else 0
    except (ConnectionError, IndexError, ValueError):
        return 0
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        writer.close()


def request_for(kind: str, rng: random.Random, queries: list[str],
                max_words: int) -> tuple[bytes, float | None]:
    """The body of one request of this kind, and the seconds between its bytes (drip-fed) or None."""
    if kind == "valid":
        return json.dumps({"queries": rng.sample(queries, rng.choice((1, 2)))}).encode(), None
    if kind == "expensive":
        words = max_words if rng.random() < 0.5 else max_words * 4
        return json.dumps({"query": " ".join(rng.choice("abcdefgh") for _ in range(words))}).encode(), None
    if kind == "oversize":
        return b'{"queries":[' + b",".join([b"0"] * 200_000) + b"]}", None
    if kind == "unicode":
        return b'{"queries":["play \\ud800 now","' + rng.choice(queries).encode() + b'"]}', None
    return json.dumps({"query": rng.choice(queries)}).encode(), 0.5


async def client(port: int, until: float, rng: random.Random, queries: list[str], max_words: int,
                 tally: Tally) -> None:
    kinds, weights = list(KINDS), list(KINDS.values())
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        body, drip = request_for(kind, rng, queries, max_words)
        t0 = time.monotonic()
        try:
            status = await asyncio.wait_for(http(port, body, drip), CLIENT_TIMEOUT_S)
        except TimeoutError:
            status = -1  # hang
        tally.by_kind[kind, status] += 1
        if kind == "valid":
            tally.valid_ms.append((time.monotonic() - t0) * 1000)


async def watch_memory(pid: int, start: float, until: float, tally: Tally) -> None:
    process = psutil.Process(pid)
    while time.monotonic() < until:
        tally.memory.append((time.monotonic() - start, process.memory_info().rss))
        await asyncio.sleep(2)
    tally.memory.append((time.monotonic() - start, process.memory_info().rss))


async def drive(port: int, pid: int, duration_s: float, concurrency: int, queries: list[str], max_words: int,
                seed: int) -> Tally:
    tally, start = Tally(), time.monotonic()
    until = start + duration_s
    rngs = [random.Random(seed * 1000 + i) for i in range(concurrency)]
    await asyncio.gather(watch_memory(pid, start, until, tally),
                         *(client(port, until, rng, queries, max_words, tally) for rng in rngs))
    return tally


def start_service(run: Path, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("SERVE_API_KEY", None)
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "serve", "--run", str(run), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"serve not ready after 300 s: {log.read_text()[-2000:]}")


def warm_up(port: int, queries: list[str]) -> None:
    for q in queries[:4]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/parse",
                                     data=json.dumps({"query": q}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=300).read()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] if ordered else float("nan")


def run_load(run: Path, queries: list[str], duration_s: float, concurrency: int, port: int, log: Path,
             seed: int = 0) -> dict:
    from serve.config import load_serve_config

    max_words = load_serve_config().max_query_words
    proc = start_service(run, port, log)
    try:
        warm_up(port, queries)
        idle_rss = psutil.Process(proc.pid).memory_info().rss
        tally = asyncio.run(drive(port, proc.pid, duration_s, concurrency, queries, max_words, seed))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as res:
            health = json.loads(res.read())
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return summarize(tally, idle_rss, duration_s, concurrency, health)


def summarize(tally: Tally, idle_rss: int, duration_s: float, concurrency: int, health: dict) -> dict:
    after_warm_up = next(rss for t, rss in tally.memory if t >= WARM_UP_SHARE * duration_s)
    end = tally.memory[-1][1]
    valid_statuses = {s: n for (k, s), n in tally.by_kind.items() if k == "valid"}
    return {
        "duration_s": duration_s, "concurrency": concurrency,
        "requests": sum(tally.by_kind.values()),
        "by_kind": {k: dict(sorted({s: n for (kk, s), n in tally.by_kind.items() if kk == k}.items()))
                    for k in KINDS},
        "valid_p50_ms": statistics.median(tally.valid_ms) if tally.valid_ms else float("nan"),
        "valid_p95_ms": percentile(tally.valid_ms, 0.95), "valid_p99_ms": percentile(tally.valid_ms, 0.99),
        "valid_5xx": sum(n for s, n in valid_statuses.items() if s >= 500),
        "all_5xx": sum(n for (_, s), n in tally.by_kind.items() if s >= 500),
        "hangs": sum(n for (_, s), n in tally.by_kind.items() if s == -1),
        "rss_idle_mb": idle_rss / 2**20, "rss_after_warm_up_mb": after_warm_up / 2**20,
        "rss_end_mb": end / 2**20,
        "rss_max_mb": max(r for _, r in tally.memory) / 2**20,
        "rss_growth": end / after_warm_up - 1,
        "rss_tenths_mb": [next(rss for t, rss in tally.memory if t >= k * duration_s / 10) / 2**20
                          for k in range(10)] + [end / 2**20],
        "worker": health["worker"], "restarts": health["restarts"],
        "grammar_cache_mb": health.get("grammar_cache_bytes", 0) / 2**20,
    }


def report(r: dict, command: str) -> list[str]:
    kinds = "; ".join(f"{k}: " + ", ".join(f"{n} x {s if s > 0 else 'no answer' if s == 0 else 'hang'}"
                                         for s, n in v.items()) for k, v in r["by_kind"].items())
    return [
        f"## Service under load and faults (`{command}`)", "",
        f"`python -m serve` in its own process, {r['concurrency']} asyncio clients for "
        f"{r['duration_s']:.0f} s, "
        f"each drawing a kind of request by weight ({', '.join(f'{k} {w:.0%}' for k, w in KINDS.items())}; "
        "benchmarks/load.py).", "",
        "| what | figure |", "|---|---|",
        f"| requests answered | {r['requests']:,} ({kinds}) |",
        f"| valid requests: latency p50 / p95 / p99 | {r['valid_p50_ms']:,.0f} / {r['valid_p95_ms']:,.0f} / "
        f"{r['valid_p99_ms']:,.0f} ms |",
        f"| 5xx answers: valid requests / all | {r['valid_5xx']} / {r['all_5xx']} (goal 0 for valid) |",
        f"| requests with no answer within {CLIENT_TIMEOUT_S} s | {r['hangs']} |",
        f"| resident memory: idle after warm-up queries / at {WARM_UP_SHARE:.0%} of the run / end / max | "
        f"{r['rss_idle_mb']:,.0f} / {r['rss_after_warm_up_mb']:,.0f} / {r['rss_end_mb']:,.0f} / "
        f"{r['rss_max_mb']:,.0f} MB ({r['rss_growth']:+.1%} from {WARM_UP_SHARE:.0%} to the end; "
        "goal within 10%) |",
        "| resident memory every tenth of the run | "
        f"{' / '.join(f'{m:,.0f}' for m in r['rss_tenths_mb'])} MB |",
        f"| worker at the end | {r['worker']}, {r['restarts']} restarts, grammar cache "
        f"{r['grammar_cache_mb']:.1f} MB |", "",
    ]
