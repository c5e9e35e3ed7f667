"""Leaderboard of every evaluated run: ONE SQL query (sql/compare/leaderboard.sql) over all metrics.json.

Usage: python -m eval.compare [runs]        (make compare)

Finds runs/**/eval/<system>/<split>/metrics.json, loads them with DuckDB's read_json as the relation
`metrics`, runs the leaderboard query, prints it and writes runs/leaderboard.md. One row per run and
system: recipe, base model, lora_r, data manifest hash, then intent macro-F1, entity macro-F1, exact
match and queries scored for each split, ranked by exact match averaged over the splits.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import duckdb

from eval.report import md_escape
from report.document import markdown_table
from schemas import SPLITS, ConfigError
from schemas.sql_project import SQL_ROOT

LEADERBOARD_SQL = SQL_ROOT / "compare" / "leaderboard.sql"
# Only what the leaderboard reads, typed: files from other versions may carry more keys.
COLUMNS = {"meta": "json", "intent": "json", "entities": "json", "exact_match": "double",
           "n_queries": "bigint"}
FIXED = ("run", "system", "recipe", "base_model", "lora_r", "data_manifest")


def metric_files(root: Path) -> list[Path]:
    # Hidden folders are unfinished outputs of a killed run (schemas.atomic), never results.
    return sorted(p for p in root.glob("**/eval/*/*/metrics.json")
                  if not any(part.startswith(".") for part in p.relative_to(root).parts))


def check_json(files: list[Path]) -> None:
    """One line for the first metrics.json that is not a JSON object (DuckDB's own error is a traceback)."""
    for f in files:
        try:
            ok = isinstance(json.loads(f.read_text(encoding="utf-8")), dict)
        except json.JSONDecodeError as exc:
            raise ConfigError([f"{f}: invalid JSON ({exc.msg} at line {exc.lineno}); "
                               "score that run again with make eval"]) from None
        if not ok:
            raise ConfigError([f"{f}: expected a JSON object; score that run again with make eval"])


def leaderboard(root: Path) -> tuple[list[str], list[dict[str, Any]]]:
    files = metric_files(root)
    if not files:
        raise ConfigError([f"{root}: no eval/<system>/<split>/metrics.json under it; run make eval first"])
    check_json(files)
    con = duckdb.connect()
    try:
        columns = "{" + ", ".join(f"{k}: '{v}'" for k, v in COLUMNS.items()) + "}"
        con.execute(f"create table metrics as select * from read_json(?, columns = {columns})",
                    [[str(f) for f in files]])
        rel = con.sql(LEADERBOARD_SQL.read_text(encoding="utf-8"))
        names = list(rel.columns)
        rows = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()
    return ordered(names), rows


def ordered(columns: list[str]) -> list[str]:
    """Fixed facts first, then each split's metrics in schemas.SPLITS order (test before heldout)."""
    def split_rank(col: str) -> tuple[int, int]:
        for i, split in enumerate(SPLITS):
            if col.startswith(split + "_"):
                return (i, columns.index(col))
        return (len(SPLITS), columns.index(col))

    fixed = [c for c in FIXED if c in columns]
    rest = [c for c in columns if c not in fixed]
    return fixed + sorted(rest, key=split_rank)


def markdown(columns: list[str], rows: list[dict[str, Any]]) -> str:
    return markdown_table(columns, rows, md_escape)


def write_leaderboard(root: Path) -> tuple[Path, str]:
    columns, rows = leaderboard(root)
    table = markdown(columns, rows)
    text = (f"# Leaderboard\n\n{len(rows)} run x system rows from {len(metric_files(root))} metrics.json "
            f"files under `{root}`, ranked by exact match averaged over splits "
            f"({LEADERBOARD_SQL.relative_to(SQL_ROOT.parent)}). "
            "`*_n` is the number of queries scored.\n\n" + table + "\n")
    path = root / "leaderboard.md"
    path.write_text(text, encoding="utf-8")
    return path, table


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", type=Path, default=Path("runs"))
    args = ap.parse_args(argv)
    try:
        path, table = write_leaderboard(args.root)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(table)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
