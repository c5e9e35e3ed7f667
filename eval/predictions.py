"""The long-form predictions table every SQL file reads: one row per (id, source, field, value).

Columns: id, split, source ('gold' | 'pred'), field ('intent' or an entity type), value, status, exclude.
`status` is NULL on gold rows; on pred rows it is 'ok', 'invalid_json', 'schema_violation' or
'truncated'. A query whose output could not be parsed keeps exactly one pred row
(field 'intent', value NULL) so it still counts in the denominator of every rate.
`exclude` is the entity's polarity: true for a value the user rules out ("not a horror movie"; the
record's or the output's `"exclude": true`), false for one they ask for, NULL on intent rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = ("id", "split", "source", "field", "value", "status", "exclude")
SCHEMA = pa.schema([(c, pa.bool_() if c == "exclude" else pa.string()) for c in COLUMNS])
STATUSES = ("ok", "invalid_json", "schema_violation", "truncated")


def long_rows(record: Mapping[str, Any], pred: Mapping[str, Any] | None, status: str) -> list[dict]:
    """Gold rows from a record plus pred rows from a parsed extraction (None when unparseable)."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {STATUSES}")
    rid, split = str(record["id"]), record.get("split")

    def row(source: str, field: str, value: str | None, st: str | None,
            exclude: bool | None = None) -> dict:
        return {"id": rid, "split": split, "source": source, "field": field, "value": value, "status": st,
                "exclude": exclude}

    rows = [row("gold", "intent", record["intent"], None)]
    rows += [row("gold", e["type"], e["value"], None, bool(e.get("exclude", False)))
             for e in record["entities"]]
    if pred is None:
        rows.append(row("pred", "intent", None, status))
        return rows
    rows.append(row("pred", "intent", pred.get("intent"), status))
    rows += [row("pred", e["type"], e["value"], status, bool(e.get("exclude", False)))
             for e in pred.get("entities", [])]
    return rows


def write_predictions(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write long rows to Parquet with modest row groups so DuckDB scans them on all cores."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([dict(r) for r in rows], schema=SCHEMA)
    pq.write_table(table, path, row_group_size=100_000)
    return path
