"""Decoding engines on the same queries, in one process: speed, agreement, cost of the grammar.

The old path is what `make eval` ran before decode.engine existed (transformers generate, fp32,
batch 16); the new one is eval/config.yml's decode section. Agreement compares parsed predictions
(intent + entities with offsets, decoding.parser.to_spans), and every differing query is listed.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

from decoding.parser import DecodeSettings, Parser, to_spans
from decoding.precision import resolve_dtype


@dataclasses.dataclass
class EngineRun:
    label: str
    settings: DecodeSettings
    seconds: float
    outputs: list[Any]
    parsed: list[dict[str, Any]]
    stats: dict[str, Any]

    @property
    def qps(self) -> float:
        return len(self.outputs) / self.seconds


def run_engine(parser: Parser, settings: DecodeSettings, queries: list[str], label: str,
               repeat: int = 1) -> EngineRun:
    """Median wall time of `repeat` decodes (grammar compilation included, model load excluded)."""
    parser = parser.with_settings(settings)
    times, outs = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        outs = parser.generate(queries, progress=False)
        times.append(time.perf_counter() - t0)
    parsed = [to_spans(q, o.text, o.truncated, parser.validator) for q, o in zip(queries, outs, strict=True)]
    return EngineRun(label, settings, statistics.median(times), outs, parsed, dict(parser.last_stats))


def differences(queries: list[str], a: EngineRun, b: EngineRun) -> list[dict[str, Any]]:
    return [{"query": q, a.label: x, b.label: y}
            for q, x, y in zip(queries, a.parsed, b.parsed, strict=True) if _key(x) != _key(y)]


def _key(parsed: dict[str, Any]) -> str:
    return json.dumps([parsed["intent"], parsed["entities"], parsed["status"]], sort_keys=True)


def load_queries(data: Path, split: str, n: int) -> list[str]:
    with (data / f"{split}.jsonl").open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    step = max(1, len(records) // n)  # spread over the file: templates cluster in generation order
    return [r["query"] for r in records[::step][:n]]


def row(run: EngineRun, base: EngineRun | None = None) -> str:
    s = run.settings
    ratio = f"{run.qps / base.qps:.1f}x" if base else "1.0x"
    calls = run.stats.get("forward_passes", "-")
    forced = run.stats.get("forced_tokens")
    share = "-"
    if forced is not None:
        total = sum(o.n_tokens for o in run.outputs)
        share = f"{forced / total:.0%}" if total else "-"
    return (f"| {run.label} | {s.engine} | {resolve_dtype(s.dtype)} | {s.mode} | {s.batch_size} | "
            f"{run.qps:.2f} | {ratio} | "
            f"{sum(o.n_tokens for o in run.outputs) / len(run.outputs):.1f} | {calls} | {share} |")
