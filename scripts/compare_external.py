"""Two runs scored on the same external corpus, with paired per-query bootstrap intervals of each difference.

Usage: .venv/bin/python scripts/compare_external.py RUN_A RUN_B [--map mit-movie] [--system finetuned]

Reads what `make eval-external` left in each run (RUN/external/<map>/: records.jsonl and
<system>/mapped/predictions.parquet), checks both scored the same queries, and prints each mapped type's
F1 for A and B and B minus A with a 95% interval (eval/uncertainty.py; each query is its own cluster, the
same resamples for both runs). A lever's gain on a real corpus is the interval of that difference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eval.external.labels import load_label_map, mapped_taxonomy
from eval.uncertainty import bootstrap, format_interval
from schemas import load_taxonomy, read_jsonl

MAPS = Path(__file__).resolve().parents[1] / "eval" / "external" / "maps"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs=2, type=Path)
    ap.add_argument("--map", default="mit-movie", help="the label map's name (its external/<name> folder)")
    ap.add_argument("--map-file", type=Path, default=MAPS / "mit_movie.yml")
    ap.add_argument("--system", default="finetuned")
    args = ap.parse_args(argv)
    folders = [run / "external" / args.map for run in args.runs]
    records = [read_jsonl(f / "records.jsonl") for f in folders]
    if [r["id"] for r in records[0]] != [r["id"] for r in records[1]]:
        print(f"error: {folders[0]} and {folders[1]} scored different queries; rerun one with the same "
              "--limit", file=sys.stderr)
        return 2
    sub = mapped_taxonomy(load_taxonomy(), load_label_map(args.map_file, load_taxonomy()))
    paths = [f / args.system / "mapped" / "predictions.parquet" for f in folders]
    iv = bootstrap(paths, records[0], sub, types=tuple(sub.entity_names))
    a, b, diff = iv["runs"][0], iv["runs"][1], iv["differences"][0]
    print(f"{len(records[0])} queries; A = {args.runs[0]}, B = {args.runs[1]} ({args.system})")
    print("| metric | A | B | B - A |\n|---|---|---|---|")
    for k in a:
        cells = (format_interval(a[k]), format_interval(b[k]), format_interval(diff[k], "+.3f"))
        print(f"| {k} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
