"""Audit a synthetic dataset: balance, values, lengths, diversity, duplicates, leakage, co-occurrence,
representativeness.

Usage:
  python -m audit --data data/x [--out DIR] [--sql-dir sql/audit] [--config audit/config.yml]
                       [--kg synth/kg] [--strict] [--quiet]

Writes DIR/audit.md, DIR/audit.html (self-contained) and DIR/audit.json (default DIR: data/x/audit).
Prints one WARNING line per failing check; exits 0, or 1 with --strict when a check fails, 2 on bad
input or a SQL file that does not run.
"""

from __future__ import annotations

import argparse
import sys

from audit.config import DEFAULT_CONFIG
from audit.report import check_line
from audit.run import run_audit
from audit.sqlfiles import SQL_DIR
from schemas import ConfigError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m audit", description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="dataset folder with {split}.parquet and manifest.json")
    ap.add_argument("--out", help="report folder (default: DATA/audit)")
    ap.add_argument("--sql-dir", default=str(SQL_DIR))
    ap.add_argument("--config", default=str(DEFAULT_CONFIG))
    ap.add_argument("--kg", help="knowledge-graph folder (default: the manifest's config.kg)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when any check fails")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        audit = run_audit(args.data, args.out, sql_dir=args.sql_dir, config=args.config, kg_dir=args.kg,
                          progress=not args.quiet)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for r in audit.failed:
        print(check_line(r), file=sys.stderr)
    checks = [r for r in audit.results if r.file.is_check]
    print(f"{len(checks)} checks, {len(audit.failed)} failing; {audit.kg_note}")
    print("wrote " + ", ".join(str(p) for p in audit.paths))
    if any(r.error for r in audit.results):
        return 2
    return 1 if args.strict and audit.failed else 0


if __name__ == "__main__":
    sys.exit(main())
