"""The DuckDB relations every audit SQL file may read.

  records                     every split's Parquet rows (id, query, intent, entities, split,
                              template_id, backend, seed_title, noise: the surface transforms applied,
                              exclusion_clauses, lookalike_clauses: ids of synth/grammar/exclusions.yml)
  train, validation, test, heldout   records of one split (empty when the split was not written)
  entities                    one row per gold span: id, split, intent, type, value, start, end, exclude
                              (true when the user rules the value out, false for a wish)
  targets                     kind ('intent' | 'entity_type'), label, label_order, target: every
                              taxonomy label with the manifest's target share (NULL when none)
  type_sources                type, source: the KG pool behind each entity type (taxonomy)
  seed_types                  type: entity types whose values must not cross train -> heldout
  kg_titles                   title, year, decade, media_type, language, genres (list)
  kg_people                   title, pool ('actor' | 'director' | 'character'), name
  phrasings                   id, split, intent, phrasing: the query with each span as {type} (phrasing.py)
  phrasing_nearest            phrasing, train_phrasing, similarity: each distinct heldout phrasing, the
                              most similar train phrasing and their rapidfuzz similarity in [0, 1]
plus the macros of sql/macros (normalize_value) and one zero-argument macro per config param,
then the views of sql/models/intermediate/audit (int_*: steps that several audit files share).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from audit.config import AuditConfig
from audit.phrasing import phrasing_tables
from schemas import SPLITS, ConfigError, Taxonomy
from schemas.config import check_parquet
from schemas.sql_project import domain_models, load_macros, read_sql


def read_manifest(data_dir: Path) -> dict[str, Any]:
    path = data_dir / "manifest.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problem = f"{path}: invalid JSON ({exc.msg} at line {exc.lineno}); rebuild with make data"
        raise ConfigError([problem]) from None


def target_rows(tax: Taxonomy, manifest: dict[str, Any]) -> list[tuple[str, str, int, float | None]]:
    """(kind, label, label_order, target) for every taxonomy label, targets from the manifest config."""
    config = manifest.get("config") or {}
    intents, entities = config.get("intents") or {}, config.get("entity_targets") or {}
    rows: list[tuple[str, str, int, float | None]] = [
        ("intent", name, i, intents.get(name)) for i, name in enumerate(tax.intent_names)]
    rows += [("entity_type", name, i, entities.get(name)) for i, name in enumerate(tax.entity_names)]
    return rows


def kg_rows(kg: Any) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, str]]]:
    """Flatten a synth.kg.KnowledgeGraph into kg_titles and kg_people rows."""
    titles, people = [], []
    for t in getattr(kg, "titles", []):
        year = getattr(t, "year", None)
        decade = year // 10 * 10 if isinstance(year, int) else None
        titles.append((t.title, year, decade, getattr(t, "media_type", None), getattr(t, "language", None),
                       list(getattr(t, "genres", []) or [])))
        people += [(t.title, "director", d) for d in getattr(t, "directors", []) or []]
        for member in getattr(t, "cast", []) or []:
            # synth.kg.CastMember, or the {"actor", "character"} mapping of the KG file format
            actor, character = ((member.get("actor"), member.get("character")) if isinstance(member, dict)
                                else (member.actor, member.character))
            people.append((t.title, "actor", actor))
            if character:
                people.append((t.title, "character", character))
    return titles, people


def _table(con: duckdb.DuckDBPyConnection, name: str, columns: str, rows: Iterable[tuple[Any, ...]]) -> None:
    con.execute(f"create or replace table {name} ({columns})")
    rows = list(rows)
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"insert into {name} values ({marks})", rows)


def split_files(data_dir: Path) -> list[Path]:
    """Every split's Parquet file present, each checked readable (a corrupt one is a one-line error)."""
    return [check_parquet(data_dir / f"{s}.parquet", "split file") for s in SPLITS
            if (data_dir / f"{s}.parquet").is_file()]


def connect(data_dir: Path, tax: Taxonomy, cfg: AuditConfig,
            kg: Any | None = None) -> duckdb.DuckDBPyConnection:
    files = split_files(data_dir)
    if not files:
        raise ConfigError([f"{data_dir}: no {{train,validation,test,heldout}}.parquet; build it with "
                           f"`make data OUT={data_dir}`"])
    con = duckdb.connect()
    load_macros(con)
    for name, value in cfg.params.items():
        con.execute(f"create or replace macro {name}() as cast({value!r} as double)")
    con.execute("create table records as select * from read_parquet(?, union_by_name = true)",
                [[str(p) for p in files]])
    # Datasets written before the noise, clause and exclude columns existed read as "no transform
    # recorded", "no clause" and "every entity a wish".
    for column in ("noise", "exclusion_clauses", "lookalike_clauses"):
        con.execute(f"alter table records add column if not exists {column} varchar[]")
    for split in SPLITS:
        con.execute(f"create view {split} as select * from records where split = '{split}'")
    entity_type = con.execute("select data_type from information_schema.columns where table_name = 'records' "
                              "and column_name = 'entities'").fetchone()
    exclude = "coalesce(u.e.exclude, false)" if entity_type and "exclude" in entity_type[0] else "false"
    con.execute(f"""
        create view entities as
        select r.id, r.split, r.intent, u.e.type as type, u.e.value as value,
               u.e.start as start, u.e."end" as "end", {exclude} as exclude
        from records as r cross join unnest(r.entities) as u(e)""")
    records = con.execute("select id, split, intent, query, entities from records").fetchall()
    phrasings, nearest = phrasing_tables(records)
    _table(con, "phrasings", "id varchar, split varchar, intent varchar, phrasing varchar", phrasings)
    _table(con, "phrasing_nearest", "phrasing varchar, train_phrasing varchar, similarity double", nearest)
    _table(con, "targets", "kind varchar, label varchar, label_order integer, target double",
           target_rows(tax, read_manifest(data_dir)))
    _table(con, "type_sources", "type varchar, source varchar",
           [(t.name, t.source) for t in tax.entity_types.values()])
    _table(con, "seed_types", "type varchar", [(t,) for t in cfg.seed_types(tax)])
    titles, people = kg_rows(kg) if kg is not None else ([], [])
    _table(con, "kg_titles", "title varchar, year integer, decade integer, media_type varchar, "
           "language varchar, genres varchar[]", titles)
    _table(con, "kg_people", "title varchar, pool varchar, name varchar", people)
    # steps several audit files share (sql/models/intermediate/audit): a check never repeats its query
    for path in domain_models("audit"):
        con.execute(read_sql(path))
    return con
