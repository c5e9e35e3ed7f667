"""Per-template scores of several runs on a `make shared` folder's records: where two models differ.

    .venv/bin/python scripts/by_template.py runs/shared-<a>-<b> <a> <b> [--split heldout] [--top 15]
                                           [--group 'recommend-c*' ...]

For each template (meta.template_id) of the split: queries, intent accuracy and entity recall (strict:
type and lower-cased value) per run, then the templates where the runs differ most; each --group
pattern (fnmatch) is pooled into one row as well ("recommend-c*" pools a composition's variants). An
analysis aid for docs/experiments.md; the scored figures remain
sql/scoring's (make shared's summary.md).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from fnmatch import fnmatch

import duckdb


def load_predictions(path: str) -> tuple[dict[str, str], dict[str, set[tuple[str, str]]]]:
    intents: dict[str, str] = {}
    entities: dict[str, set[tuple[str, str]]] = defaultdict(set)
    rows = duckdb.sql(f"select id, field, lower(value) from '{path}' where source = 'pred'").fetchall()
    for i, field, value in rows:
        if field == "intent":
            intents[i] = value
        elif value is not None:
            entities[i].add((field, value))
    return intents, entities


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("shared")
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--split", default="heldout")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--group", action="append", default=[])
    args = ap.parse_args()
    with open(f"{args.shared}/records/{args.split}.jsonl", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    preds = {run: load_predictions(f"{args.shared}/{run}/{args.split}/predictions.parquet")
             for run in args.runs}
    # template -> run -> [queries, intent right, gold entities, entities found]
    stats: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    for r in records:
        tid = (r.get("meta") or {}).get("template_id") or "?"
        keys = [tid] + [g for g in args.group if fnmatch(tid, g)]
        gold = {(e["type"], e["value"].lower()) for e in r["entities"]}
        for run in args.runs:
            intents, entities = preds[run]
            for key in keys:
                s = stats[key][run]
                s[0] += 1
                s[1] += intents.get(r["id"]) == r["intent"]
                s[2] += len(gold)
                s[3] += len(gold & entities.get(r["id"], set()))

    def row(key: str) -> str:
        cells = []
        for run in args.runs:
            n, right, gold, found = stats[key][run]
            cells.append(f"{right}/{n} intent, {found}/{gold} entities")
        return f"| {key} | " + " | ".join(cells) + " |"

    print(f"| template ({args.split}) | " + " | ".join(args.runs) + " |")
    print("|---|" + "---|" * len(args.runs))
    for g in args.group:
        if g in stats:
            print(row(g))
    a, b = args.runs[0], args.runs[-1]

    def gap(key: str) -> float:
        """Entities and intents the last run gets right that the first misses (one run: its misses)."""
        sa, sb = stats[key][a], stats[key][b]
        if a == b:
            return -((sa[2] - sa[3]) + (sa[0] - sa[1]))
        return (sb[3] - sa[3]) + (sb[1] - sa[1])

    keys = sorted((k for k in stats if k not in args.group), key=gap)
    shown = keys[: args.top] if a == b else keys[: args.top] + (keys[-args.top:][::-1] if args.top else [])
    for key in shown:
        print(row(key))


if __name__ == "__main__":
    main()
