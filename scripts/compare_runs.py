"""Two runs' `make eval` predictions on the same records, with paired template-bootstrap intervals.

Usage: .venv/bin/python scripts/compare_runs.py RUN_A RUN_B --data data/default [--split heldout]

For runs trained on the same dataset (the same records in each split), e.g. one recipe or decoding
change against another: reads RUN/eval/finetuned/<split>/predictions.parquet of each, checks both scored
the same ids, and prints intent, entity and per-type F1 of A and B and of B minus A with 95% intervals
from resampling the split's templates (eval/uncertainty.py). Runs trained on different datasets compare
on their shared records with `make shared` instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from eval.uncertainty import bootstrap, format_interval
from schemas import load_taxonomy, read_jsonl


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs=2, type=Path)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="heldout")
    ap.add_argument("--system", default="finetuned")
    args = ap.parse_args(argv)
    paths = [run / "eval" / args.system / args.split / "predictions.parquet" for run in args.runs]
    ids = [{r[0] for r in duckdb.sql(f"select distinct id from '{p}'").fetchall()} for p in paths]
    if ids[0] != ids[1]:
        print(f"error: {paths[0]} and {paths[1]} hold different queries", file=sys.stderr)
        return 2
    records = [r for r in read_jsonl(args.data / f"{args.split}.jsonl") if r["id"] in ids[0]]
    tax = load_taxonomy()
    iv = bootstrap(paths, records, tax, types=tuple(tax.entity_names))
    a, b, diff = iv["runs"][0], iv["runs"][1], iv["differences"][0]
    print(f"{args.split}: {len(records)} records, {iv['clusters']} templates; "
          f"A = {args.runs[0]}, B = {args.runs[1]}")
    print("| metric | A | B | B - A |\n|---|---|---|---|")
    for k in a:
        cells = (format_interval(a[k]), format_interval(b[k]), format_interval(diff[k], "+.3f"))
        print(f"| {k} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
