"""The HTTP service under load: latency percentiles at a given concurrency and throughput, real loopback
HTTP against uvicorn in this process (a background thread), the same app `make serve` runs."""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from serve.app import serving
from serve.config import load_serve_config


def running_service(parse_many: Any, port: int) -> AbstractContextManager[str]:
    return serving(parse_many, replace(load_serve_config(), port=port))


def _post(url: str, query: str) -> float:
    req = urllib.request.Request(url + "/v1/parse", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as res:
        assert res.status == 200
        res.read()
    return time.perf_counter() - t0


def load_test(url: str, queries: list[str], concurrency: int) -> dict[str, float]:
    """Every query once, `concurrency` clients at a time: p50/p95 latency (ms) and queries/s."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(pool.map(lambda q: _post(url, q), queries))
    wall = time.perf_counter() - t0
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    return {"concurrency": concurrency, "n": len(queries), "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": p95 * 1000, "qps": len(queries) / wall}
