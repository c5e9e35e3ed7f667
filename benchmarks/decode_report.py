"""The decoding and service sections of benchmarks/results.md (see benchmarks/__main__.py)."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path

from benchmarks.engine import EngineRun, differences, load_queries, row, run_engine
from decoding.parser import DecodeSettings, Parser, read_run
from decoding.precision import cpu_has_native_bf16, resolve_dtype
from schemas import load_taxonomy

ALT_DTYPES = ("float32", "bfloat16", "bfloat16-mixed")  # each benchmarked beside the configured one
HEADER = ["| run | engine | dtype | mode | batch | queries/s | vs old | tokens/query | forward passes | "
          "forced tokens |", "|---|---|---|---|---|---|---|---|---|---|"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _model(run: Path | None, data: Path) -> tuple[Path, Path | None, str | None, str]:
    """(base model, adapter, system prompt, description): the run, else the newest, else the base model."""
    from eval.predict import manifest_system_prompt
    from eval.runs import newest_run
    from schemas import ConfigError

    if run is None:
        try:
            run = newest_run()
        except ConfigError:
            from basemodel.smollm2 import ensure_smollm2

            return (ensure_smollm2(), None, manifest_system_prompt(data),
                    "the base SmolLM2-135M (no trained run found: agreement means little for it)")
    base, prompt = read_run(run)
    return base, run, prompt, f"`{run}` (fine-tuned adapter on {base.name})"


def _valid(run: EngineRun, queries: list[str]) -> str:
    ok = sum(p["status"] == "ok" for p in run.parsed)
    grounded = ungrounded = 0
    for q, o in zip(queries, run.outputs, strict=True):
        try:
            ents = json.loads(o.text)["entities"]
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        for e in ents:
            if isinstance(e, dict) and isinstance(e.get("value"), str) and e["value"] in q:
                grounded += 1
            else:
                ungrounded += 1
    return f"schema-valid {ok / len(queries):.3f}, ungrounded values {ungrounded} of {grounded + ungrounded}"


def _diff_lines(queries: list[str], a: EngineRun, b: EngineRun, limit: int = 20) -> list[str]:
    diffs = differences(queries, a, b)
    lines = [f"Predictions equal on **{len(queries) - len(diffs)} of {len(queries)}** queries "
             f"({(len(queries) - len(diffs)) / len(queries):.1%}); differing:"]
    for d in diffs[:limit]:
        x, y = d[a.label], d[b.label]
        lines.append(f"- `{d['query']}`: {a.label} `{x['intent']} {_ents(x)}` vs {b.label} "
                     f"`{y['intent']} {_ents(y)}`")
    if len(diffs) > limit:
        lines.append(f"- ... and {len(diffs) - limit} more")
    return lines + [""]


def _ents(parsed: dict) -> str:
    return "[" + ", ".join(f"{e['type']}={e['value']}" for e in parsed["entities"]) + "]"


def bench_decoding(run: Path | None, data: Path, n: int, repeat: int, decoding: bool = True,
                   service: bool = True) -> list[str]:
    from eval.config import load_eval_config

    cfg = DecodeSettings.of(load_eval_config().decode)
    base, adapter, prompt, what = _model(run, data)
    tax = load_taxonomy()
    queries = load_queries(data, "heldout", n)
    lines = [f"## Decoding: {what}, {len(queries)} heldout queries of `{data}`", ""]
    parser = Parser(base, adapter, prompt, tax, cfg)
    if decoding:
        fp32 = parser
        if cfg.dtype != "float32":
            fp32 = Parser(base, adapter, prompt, tax, replace(cfg, dtype="float32"))
        old = run_engine(fp32, replace(cfg, engine="hf", dtype="float32", batch_size=16), queries, "old")
        new = run_engine(parser, cfg, queries, "new", repeat)
        runs = [old, new,
                run_engine(parser, replace(cfg, mode="none"), queries, "new, unconstrained", repeat),
                run_engine(parser, replace(cfg, jump_forward=False), queries, "new, no jump-forward")]
        # the other float types of the same engine; bf16 only where it is native (emulated it is ~60x slower)
        alts = []
        for other in ALT_DTYPES:
            if other == resolve_dtype(cfg.dtype) or (other != "float32" and not cpu_has_native_bf16()):
                continue
            alt_parser = fp32
            if other != "float32":
                alt_parser = Parser(base, adapter, prompt, tax, replace(cfg, dtype=other))
            alts.append(run_engine(alt_parser, replace(cfg, dtype=other), queries, f"new in {other}", repeat))
        runs += alts
        lines += ["Old = the path `make eval` used before `decode.engine` (transformers `generate`, fp32, "
                  "batch 16, xgrammar logits processor); new = eval/config.yml's `decode` section.", ""]
        lines += HEADER + [row(r, old) for r in runs] + [""]
        unc = runs[2]
        lines += [f"- Speed-up of the new default over the old path: **{new.qps / old.qps:.1f}x** "
                  f"({old.qps:.2f} -> {new.qps:.2f} queries/s).",
                  f"- Cost of the grounded grammar on the new engine: {new.seconds / unc.seconds - 1:+.0%} "
                  f"wall time vs unconstrained ({unc.qps:.2f} queries/s).",
                  f"- Old: {_valid(old, queries)}; new: {_valid(new, queries)}; "
                  f"unconstrained: {_valid(unc, queries)}.", ""]
        lines += ["### New vs old", ""] + _diff_lines(queries, old, new)
        for alt in alts:
            lines += [f"### {alt.label} vs old", ""] + _diff_lines(queries, old, alt)
    if service:
        from benchmarks.service import load_test, running_service

        with running_service(parser.parse_many, free_port()) as url:
            load_test(url, queries[:4], 1)  # warm-up
            results = [load_test(url, queries, c) for c in (1, 8)]
        lines += ["## Service (`make serve`'s app over loopback HTTP, one query per request)", "",
                  "| concurrency | requests | p50 latency | p95 latency | throughput |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['concurrency']} | {r['n']} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | "
                  f"{r['qps']:.2f} queries/s |" for r in results] + [""]
    return lines
