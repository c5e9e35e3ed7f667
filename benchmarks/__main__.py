"""Benchmarks (not tests): `make bench [RUN=runs/x] [DATA=data/default]` -> benchmarks/results.md.

1. synth: 20,000 records with the grammar backend (the `make data` default).
2. scoring: per-class intent metrics at scale (500,000 and 1,000,000 queries), DuckDB SQL (sql/scoring) vs
   the fastest reasonable pandas + scikit-learn code on the same fabricated long-form predictions
   (only the needed columns and rows read, gold and pred aligned by id, labels as integer codes), checked
   equal.
3. grammar: per-query grounded grammar compile (xgrammar, the SmolLM2 tokenizer) over synthetic queries,
   the cost `decode.mode: grounded` adds to every query.
4. decoding: the old path (transformers generate, fp32, batch 16) vs eval/config.yml's decode settings
   on the same heldout queries: queries/s, ratio, agreement (every differing query listed), the cost
   of the grounded grammar (vs unconstrained on the same engine), jump-forward and bf16 separately.
5. service: `make serve`'s app over loopback HTTP, latency p50/p95 at concurrency 1 and 8, throughput.
6. load: `python -m serve` under load and faults for --duration seconds (default 300) at --concurrency
   clients (default 16): valid, expensive, oversize, invalid-Unicode and drip-fed requests mixed; latency
   percentiles, 5xx counts and resident memory (benchmarks/load.py). Needs a trained run.

Usage: python -m benchmarks [--run runs/x] [--data data/default] [--n 128]
                            [--only synth,scoring,grammar,decoding,service,load] [--duration 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from basemodel.smollm2 import DEFAULT_DIR, ensure_smollm2
from eval.predictions import write_predictions
from eval.score import connect, run_sql
from schemas import load_taxonomy
from synth.config import load_data_config
from synth.pipeline import build_dataset

OUT = Path(__file__).with_name("results.md")


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def bench_synth(repeat: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_data_config("recipes/data/default.yml", {"out": tmp})
        secs, manifest = timed(lambda: build_dataset(cfg, progress=False), repeat)
    n = manifest["counts"]["records"]
    return f"| synth, grammar backend | {n:,} records | {secs:.1f} s | {n / secs:,.0f} records/s |"


def fabricate(n_queries: int, seed: int = 0) -> tuple[list[dict], list[str], list[str]]:
    tax = load_taxonomy()
    rng = random.Random(seed)
    labels = tax.intent_names
    rows, gold, pred = [], [], []
    for i in range(n_queries):
        g = rng.choice(labels)
        p = g if rng.random() < 0.8 else rng.choice(labels)
        gold.append(g)
        pred.append(p)
        base = {"id": str(i), "split": "test", "field": "intent"}
        rows += [{**base, "source": "gold", "value": g, "status": None},
                 {**base, "source": "pred", "value": p, "status": "ok"}]
    return rows, gold, pred


def bench_scoring(n_queries: int, repeat: int) -> str:
    tax = load_taxonomy()
    rows, _, _ = fabricate(n_queries)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_predictions(Path(tmp) / "predictions.parquet", rows)
        sql_file = Path("sql/scoring/per_class_intent.sql")

        def with_sql():
            con = connect(path, tax)
            return run_sql(con, sql_file)

        def with_sklearn():
            # Read only what the metric needs, align gold and pred by id (never by row order), and
            # hand scikit-learn integer codes: string labels make it sort and encode 1M objects.
            df = pd.read_parquet(path, columns=["id", "source", "value"], filters=[("field", "==", "intent")])
            # eval/predictions.py writes exactly one intent row per id and source
            gold = df.loc[df["source"] == "gold"].set_index("id")["value"]
            pred = df.loc[df["source"] == "pred"].set_index("id")["value"]
            pred = pred.reindex(gold.index)  # a query without a prediction counts as a miss
            codes = [pd.Categorical(s, categories=tax.intent_names).codes for s in (gold, pred)]
            return precision_recall_fscore_support(codes[0], codes[1], labels=range(len(tax.intent_names)),
                                                   zero_division=0)

        t_sql, table = timed(with_sql, repeat)
        t_skl, (p, r, f, s) = timed(with_sklearn, repeat)
    by_label = {row["label"]: row["f1"] for row in table.rows}
    sql_f1 = np.array([by_label[label] for label in tax.intent_names])
    assert np.allclose(sql_f1, f, atol=1e-9), "SQL and scikit-learn disagree"
    return (f"| per-class intent P/R/F1: DuckDB SQL vs pandas + scikit-learn (equal to 1e-9) | "
            f"{n_queries:,} queries | {t_sql:.2f} s vs {t_skl:.2f} s | {t_skl / t_sql:.1f}x |")


def bench_grammar(n_queries: int, model_dir: Path = DEFAULT_DIR) -> str:
    """Median and max time to compile one grounded grammar, as eval.predict does for every query."""
    import xgrammar as xgr
    from transformers import AutoConfig, AutoTokenizer

    from decoding.grounded import grounded_ebnf

    ensure_smollm2(model_dir)
    tok = AutoTokenizer.from_pretrained(model_dir)
    vocab_size = AutoConfig.from_pretrained(model_dir).vocab_size
    info = xgr.TokenizerInfo.from_huggingface(tok, vocab_size=vocab_size, stop_token_ids=[tok.eos_token_id])
    # As decoding.hf.grammar_compiler builds it; every query differs, so each compile is a cache miss.
    compiler = xgr.GrammarCompiler(info, max_threads=os.cpu_count() or 1)
    tax = load_taxonomy()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_data_config("recipes/data/default.yml", {"out": tmp, "n": n_queries})
        build_dataset(cfg, progress=False)
        queries = [json.loads(line)["query"] for path in sorted(Path(tmp).glob("*.jsonl"))
                   for line in path.open(encoding="utf-8")]
    times = []
    for q in queries:
        t0 = time.perf_counter()
        compiler.compile_grammar(grounded_ebnf(q, tax, max_value_chars=80, max_entities=8))
        times.append(time.perf_counter() - t0)
    ms = [t * 1000 for t in times]
    return (f"| grounded grammar compile per query (xgrammar, SmolLM2 tokenizer) | "
            f"{len(ms):,} queries | median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms | "
            f"{len(ms) / sum(times):,.0f} grammars/s |")


SECTIONS = ("synth", "scoring", "grammar", "decoding", "service", "load")


def bench_load(run: Path | None, data: Path, duration_s: float, concurrency: int) -> list[str]:
    """benchmarks/load.py against the run's service, on distinct heldout queries of `data`."""
    from benchmarks.decode_report import free_port
    from benchmarks.engine import load_queries
    from benchmarks.load import report, run_load
    from eval.runs import newest_run
    from schemas import ConfigError

    try:
        run = run or newest_run()
    except ConfigError:
        return ["## Service under load and faults", "",
                "Skipped: no trained run (make train, or RUN=runs/x).", ""]
    queries = list(dict.fromkeys(load_queries(data, "heldout", 2000)))
    with tempfile.TemporaryDirectory() as tmp:
        figures = run_load(run, queries, duration_s, concurrency, free_port(), Path(tmp) / "serve.log")
    command = (f"python -m benchmarks --only load --run {run} --duration {duration_s:g} "
               f"--concurrency {concurrency}")
    return report(figures, command)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--queries", default="500000,1000000", help="comma-separated scoring benchmark sizes")
    ap.add_argument("--grammar-queries", type=int, default=300)
    ap.add_argument("--run", type=Path, help="trained run folder (default: newest under runs/)")
    ap.add_argument("--data", type=Path, default=Path("data/default"), help="its dataset (heldout split)")
    ap.add_argument("--n", type=int, default=128, help="heldout queries for the decoding benchmarks")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated, from {', '.join(SECTIONS)}")
    ap.add_argument("--duration", type=float, default=300, help="seconds of the load run (load section)")
    ap.add_argument("--concurrency", type=int, default=16, help="clients of the load run")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    only = {s.strip() for s in args.only.split(",")}
    if only - set(SECTIONS):
        raise SystemExit(f"error: --only: unknown section(s) {', '.join(sorted(only - set(SECTIONS)))}; "
                         f"choose from {', '.join(SECTIONS)}")
    lines = [
        "# Benchmarks", "",
        f"`make bench` on {platform.node()} ({platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores), {time.strftime('%Y-%m-%d %H:%M')}; medians of {args.repeat} runs.", "",
    ]
    if only & {"synth", "scoring", "grammar"}:
        lines += ["| what | size | time | rate |", "|---|---|---|---|"]
        lines += [bench_synth(args.repeat)] if "synth" in only else []
        if "scoring" in only:
            lines += [bench_scoring(int(n), args.repeat) for n in args.queries.split(",")]
        lines += [bench_grammar(args.grammar_queries)] if "grammar" in only else []
    if only & {"decoding", "service"}:
        from benchmarks.decode_report import bench_decoding

        lines += bench_decoding(args.run, args.data, args.n, args.repeat, "decoding" in only,
                                "service" in only)
    if "load" in only:
        lines += bench_load(args.run, args.data, args.duration, args.concurrency)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
