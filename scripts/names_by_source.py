"""Per-type name F1 on a `make shared` folder's heldout records, split by where the names come from.

    .venv/bin/python scripts/names_by_source.py runs/shared-<a>-<b> <a> <b>

A record counts as "kg" when one of its gold title/actor/director/character values is a KG value
(case-insensitive), otherwise "open" (made-up open-pool names; a KG name with a typo lands here too).
F1 matches (record, lower-cased value) pairs per type, so a name with the wrong type is a miss for its
gold type and a false positive for the predicted one. An analysis aid for the open-pool share
(docs/experiments.md); the scored figures remain sql/scoring's.
"""

from __future__ import annotations

import glob
import json
import sys
from collections import Counter, defaultdict

import duckdb

TYPES = ("title", "actor", "director", "character")


def kg_names(kg_dir: str = "synth/kg") -> dict[str, set[str]]:
    names: dict[str, set[str]] = defaultdict(set)
    for path in glob.glob(f"{kg_dir}/titles_*.jsonl"):
        for line in open(path, encoding="utf-8"):
            t = json.loads(line)
            names["title"].add(t["title"].lower())
            names["director"].update(d.lower() for d in t.get("directors", []))
            for c in t.get("cast", []):
                names["actor"].add(c["actor"].lower())
                names["character"].add(str(c.get("character", "")).lower())
    return names


def main(shared: str, runs: list[str]) -> None:
    kg = kg_names()
    source = {}
    for line in open(f"{shared}/records/heldout.jsonl", encoding="utf-8"):
        r = json.loads(line)
        names = [(e["type"], e["value"].lower()) for e in r["entities"] if e["type"] in TYPES]
        if names:
            source[r["id"]] = "kg" if any(v in kg[t] for t, v in names) else "open"
    print("records with names:", dict(Counter(source.values())))
    for run in runs:
        path = f"{shared}/{run}/heldout/predictions.parquet"
        query = f"select id, source, field, lower(value) from '{path}' where field in {TYPES}"
        counts: dict[tuple[str, str, str], Counter] = defaultdict(Counter)  # (side, source, type) -> pairs
        for i, side, field, value in duckdb.sql(query).fetchall():
            if i in source:
                counts[side, source[i], field][i, value] += 1
        cells = []
        for src in ("kg", "open"):
            for t in TYPES:
                gold, pred = counts["gold", src, t], counts["pred", src, t]
                n_gold, tp = sum(gold.values()), sum((gold & pred).values())
                denom = n_gold + sum(pred.values())
                cells.append(f"{src}:{t} {2 * tp / denom if denom else float('nan'):.3f} (n={n_gold})")
        print(run, " | ".join(cells))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
