"""Regenerate the JSON Schema files from the taxonomy.

Usage: python -m schemas [--taxonomy schemas/taxonomy.yaml] [--out schemas/]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from schemas import DEFAULT_TAXONOMY, extraction_schema, load_taxonomy, record_schema


def write_schemas(taxonomy: Path, out: Path) -> list[Path]:
    tax = load_taxonomy(taxonomy)
    files = {"record.schema.json": record_schema(tax), "extraction.schema.json": extraction_schema(tax)}
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in files.items():
        (out / name).write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return [out / n for n in files]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--taxonomy", type=Path, default=DEFAULT_TAXONOMY)
    ap.add_argument("--out", type=Path, default=DEFAULT_TAXONOMY.parent)
    args = ap.parse_args()
    for path in write_schemas(args.taxonomy, args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
