"""Evaluate a training run: the fine-tuned model, the zero-shot base model and a non-LLM baseline, per split.

Usage: python -m eval [--run runs/x] [--data data/default] [--splits test,heldout] [--limit N]
                      [--systems finetuned,zero_shot,baseline] [--config eval/config.yml] [--force]
                      [--allow-other-data]

--run defaults to the newest run folder under runs/ holding an adapter (adapter_model.safetensors).
Every knob is in eval/config.yml; the flags override it for one call. For each system and split:
  runs/x/eval/<system>/<split>/ predictions.parquet, outputs.jsonl, metrics.json, tables/, setup.sql
then runs/x/eval/report.md and report.html, and the headline table (system x split) is printed.
Predictions are reused when their inputs (ids, model, adapter, decoding settings) are unchanged;
--force decodes again. --data must hold the dataset the run was trained on (its manifest hash is in
the run card); --allow-other-data scores it on another one deliberately, and metrics.json says so.
The CPU default scores a seeded subset of `limit` queries per split, and says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from apiclient import EndpointDown
from eval.config import DEFAULT_CONFIG, SYSTEMS, load_eval_config
from eval.pipeline import evaluate
from eval.report import headline_rows, headline_table, write_report
from eval.retrieval import load_retrieval_config, retrieval_table
from eval.runs import newest_run
from schemas import SPLITS, ConfigError
from schemas.taxonomy import dataset_taxonomy


def parse_list(text: str | None, allowed: tuple[str, ...], flag: str) -> tuple[str, ...] | None:
    if text is None:
        return None
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ConfigError([f"{flag}: unknown value(s) {', '.join(bad) or '(empty)'}; "
                           f"choose from {', '.join(allowed)}"])
    return values


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="run folder (default: newest under runs/ with an adapter)")
    ap.add_argument("--runs-root", type=Path, default=Path("runs"), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, default=Path("data/default"))
    ap.add_argument("--splits", help=f"comma-separated, from {', '.join(SPLITS)}")
    ap.add_argument("--systems", help=f"comma-separated, from {', '.join(SYSTEMS)}")
    ap.add_argument("--limit", type=int, help="queries per split (0 = all); default from the config")
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--force", action="store_true", help="decode again even when inputs are unchanged")
    ap.add_argument("--allow-other-data", action="store_true",
                    help="score the run on --data even though it was trained on another dataset")
    args = ap.parse_args(argv)
    try:
        cfg = load_eval_config(args.config)
        overrides: dict[str, Any] = {}
        if (splits := parse_list(args.splits, SPLITS, "--splits")) is not None:
            overrides["splits"] = splits
        if (systems := parse_list(args.systems, SYSTEMS, "--systems")) is not None:
            overrides["systems"] = systems
        if args.limit is not None:
            overrides |= {"limit": args.limit or None, "limit_by_system": {}}
        cfg = dataclasses.replace(cfg, **overrides)
        run = args.run or newest_run(args.runs_root)
        tax = dataset_taxonomy(args.data)  # the labels its manifest says it was generated with
        load_retrieval_config(tax=tax)  # refused before any decoding when it leaves out an intent
        metrics = evaluate(run, args.data, cfg, tax, args.force, args.allow_other_data)
        report = write_report(run / "eval", cfg.report, tax)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except EndpointDown as exc:  # the breaker tripped: previous outputs are intact (atomic folders)
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    print(headline_table(headline_rows(metrics)))
    print(retrieval_table(metrics))  # end to end: titles from the KG per input (eval/retrieval.py)
    print(f"report: {report}")


if __name__ == "__main__":
    main()
