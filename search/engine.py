"""A DuckDB connection holding the knowledge graph, the search settings and the ranking SQL.

Tables made here (Python only loads data; every ranking step is a file in sql/, sql/README.md):
  kg_titles(title_id, title, year, media_type, language)      one row per KG title, in load order
  kg_facts(title_id, pool, value)                             people, characters, genres, moods, themes,
                                                              plot, settings, media type, language
  search_settings (one row), pool_kinds(pool, kind), entity_pools(entity_type, pool),
  similar_weights(pool, weight), stopwords(token), value_synonyms(pool, word, kg_value),
  year_phrases(phrase, first_year, last_year), intent_routes(intent, route), partial_intents(intent),
  person_pools(pool), closed_pools(pool), relax_order(pool, relax_rank)
                                                              from search/config.yml
  requests(qid, position, field, value, exclude, canonical)    extractions in the long form of
                                                              eval/predictions.py (field 'intent' or a type);
                                                              exclude: the user rules the value out;
                                                              canonical: a closed type's lexicon value
                                                              (filled from the taxonomy's lexicons where
                                                              the extraction does not carry it)
  request_text(qid, query)                                     raw queries, for the BM25 baseline
Then sql/macros/*.sql, the models of sql/models/*/search/ (as tables: the KG-side ones once, the
request-side ones again whenever `requests` changes), and each sql/search/rank_<route>.sql answers
the intents of its route.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from schemas import ConfigError, Taxonomy, load_taxonomy
from schemas.sql_project import SQL_ROOT, domain_models, load_macros, read_sql
from search.config import ROUTES, SearchConfig, load_search_config
from synth.kg import KnowledgeGraph, load_kg, title_pool_values

SQL_DIR = SQL_ROOT / "search"
KG_MODELS = ("stg_kg_values", "stg_kg_term_weights")  # depend on the KG only: materialised once
RAW_ROUTE = "raw_query"
REQUEST_SCHEMA = pa.schema([("qid", pa.string()), ("position", pa.int32()), ("field", pa.string()),
                            ("value", pa.string()), ("exclude", pa.bool_()), ("canonical", pa.string())])
TEXT_SCHEMA = pa.schema([("qid", pa.string()), ("query", pa.string())])
RESULT_COLUMNS = ("qid", "route", "rank", "title_id", "title", "year", "score", "matched", "unmet", "linked")
NO_UNMET = "null::struct(type varchar, value varchar)[]"  # the raw-query baseline checks no constraint


def sql_file(name: str) -> str:
    """A ranking file of sql/search/ by name (rank_<route>)."""
    return read_sql(SQL_DIR / f"{name}.sql")


def request_models() -> list[Path]:
    """The search models that read `requests`: rebuilt as tables by set_requests, so the route files
    share them, in creation order."""
    return [p for p in domain_models("search") if p.stem not in KG_MODELS]


def _arrow(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([dict(r) for r in rows], schema=schema)


def kg_rows(kg: KnowledgeGraph) -> tuple[list[dict], list[dict]]:
    """The kg_titles and kg_facts rows of a loaded knowledge graph."""
    titles, facts = [], []
    for i, t in enumerate(kg.titles):
        titles.append({"title_id": i, "title": t.title, "year": t.year, "media_type": t.media_type,
                       "language": t.language})
        for pool, values in title_pool_values(t).items():
            if pool not in ("title", "year"):
                facts += [{"title_id": i, "pool": pool, "value": v} for v in dict.fromkeys(values)]
    return titles, facts


def check_routes(cfg: SearchConfig, tax: Taxonomy) -> None:
    problems = [f"{cfg.path}: {route}: unknown intent '{i}'; the taxonomy has "
                f"{', '.join(tax.intent_names)}"
                for route, intents in [*cfg.routes.items(), ("partial", cfg.partial)]
                for i in intents if i not in tax.intent_names]
    if problems:
        raise ConfigError(problems)


class SearchEngine:
    """One in-memory DuckDB with the KG and the ranking SQL; `rank(...)` answers many requests at once."""

    def __init__(self, cfg: SearchConfig | None = None, tax: Taxonomy | None = None,
                 kg: KnowledgeGraph | None = None, this_year: int | None = None):
        self.cfg = cfg or load_search_config()
        self.tax = tax or load_taxonomy()
        check_routes(self.cfg, self.tax)
        self.kg = kg or load_kg(self.cfg.kg, self.tax)
        self.con = duckdb.connect()
        self._load_tables(this_year or datetime.date.today().year)
        load_macros(self.con)
        self.con.execute("create table stopwords as select distinct unnest(text_tokens(word)) as token "
                         "from stopword_list")
        for path in domain_models("search"):
            if path.stem in KG_MODELS:
                self.con.execute(f"create table {path.stem} as {read_sql(path)}")
        self.stage_requests()

    def _table(self, name: str, rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> None:
        data = _arrow(rows, schema)  # noqa: F841 - read by name below (DuckDB's replacement scan)
        self.con.execute(f"create or replace table {name} as select * from data")

    def _load_tables(self, this_year: int) -> None:
        cfg, s, i32, f64 = self.cfg, pa.string(), pa.int32(), pa.float64()
        titles, facts = kg_rows(self.kg)
        self._table("kg_titles", titles, pa.schema([("title_id", i32), ("title", s), ("year", i32),
                                                    ("media_type", s), ("language", s)]))
        self._table("kg_facts", facts, pa.schema([("title_id", i32), ("pool", s), ("value", s)]))
        settings = {k: cfg.ranking[k] for k in cfg.ranking} | {"this_year": this_year}
        ints = ("top_k", "disambiguation", "chars_per_edit", "max_edits", "this_year")
        self._table("search_settings", [settings],
                    pa.schema([(k, i32 if k in ints else f64) for k in settings]))
        kinds = [{"pool": p, "kind": k} for k, ps in (("hard", cfg.hard), ("soft", cfg.soft)) for p in ps]
        self._table("pool_kinds", kinds + [{"pool": "title", "kind": "title"}],
                    pa.schema([("pool", s), ("kind", s)]))
        self._table("entity_pools", [{"entity_type": n, "pool": et.source}
                                     for n, et in self.tax.entity_types.items()],
                    pa.schema([("entity_type", s), ("pool", s)]))
        self._table("similar_weights", [{"pool": p, "weight": w} for p, w in cfg.similar_weights.items()],
                    pa.schema([("pool", s), ("weight", f64)]))
        self._table("stopword_list", [{"word": w} for w in cfg.stopwords], pa.schema([("word", s)]))
        synonyms = [{"pool": pool, "word": w, "kg_value": kg_value}
                    for pool, table in (("media_type", cfg.media_type), ("genre", cfg.genre))
                    for kg_value, words in table.items() for w in words]
        self._table("value_synonyms", synonyms, pa.schema([("pool", s), ("word", s), ("kg_value", s)]))
        self._table("year_phrases", [{"phrase": p, "first_year": a, "last_year": b}
                                     for p, (a, b) in cfg.year_phrases.items()],
                    pa.schema([("phrase", s), ("first_year", i32), ("last_year", i32)]))
        self._table("closed_pools", [{"pool": p} for p in cfg.closed], pa.schema([("pool", s)]))
        self._table("person_pools", [{"pool": p} for p in cfg.person], pa.schema([("pool", s)]))
        self._table("partial_intents", [{"intent": i} for i in cfg.partial], pa.schema([("intent", s)]))
        self._table("relax_order", [{"pool": p, "relax_rank": k} for k, p in enumerate(cfg.relax, 1)],
                    pa.schema([("pool", s), ("relax_rank", i32)]))
        self._table("intent_routes", [{"intent": i, "route": r} for r, intents in cfg.routes.items()
                                      for i in intents], pa.schema([("intent", s), ("route", s)]))
        self._table("requests", [], REQUEST_SCHEMA)
        self._table("request_text", [], TEXT_SCHEMA)

    def fill_canonicals(self) -> None:
        """Give every closed-type entity of `requests` without a `canonical` the one its lexicon names
        (schemas/lexicon.py), as decoding.parser.to_spans reports it: an extraction from the CLI, the
        labels or an older parser then compares like with like ('dark british comedy' -> comedy)."""
        closed = self.tax.closed_types
        if not closed:
            return
        marks = ", ".join("?" for _ in closed)
        pairs = self.con.execute(f"select distinct field, value from requests where canonical is null and "
                                 f"value is not null and field in ({marks})", list(closed)).fetchall()
        found = [{"field": f, "value": v, "canonical": c} for f, v in pairs
                 if (c := closed[f].canonical(v)) is not None]
        if found:
            self._table("lexicon_canonicals", found, pa.schema([(k, pa.string())
                                                                for k in ("field", "value", "canonical")]))
            self.con.execute("update requests as r set canonical = lc.canonical "
                             "from lexicon_canonicals as lc "
                             "where r.canonical is null and r.field = lc.field and r.value = lc.value")

    def stage_requests(self) -> None:
        """Rebuild the request-side model tables from the current `requests` (call after replacing it)."""
        self.fill_canonicals()
        for path in request_models():
            self.con.execute(f"create or replace table {path.stem} as {read_sql(path)}")

    def set_requests(self, requests: Iterable[Mapping[str, Any]],
                     texts: Iterable[Mapping[str, Any]] = ()) -> None:
        """Replace `requests` (qid, position, field, value) and `request_text` (qid, query)."""
        self._table("requests", list(requests), REQUEST_SCHEMA)
        self._table("request_text", list(texts), TEXT_SCHEMA)
        self.stage_requests()

    def rank(self, raw: bool = False, routes: Sequence[str] = ROUTES) -> list[dict[str, Any]]:
        """Ranked results of every request: per route file, or the raw-query BM25 when `raw`."""
        rows: list[dict[str, Any]] = []
        for route in (RAW_ROUTE,) if raw else routes:
            rel = self.con.sql(sql_file(f"rank_{route}"))
            for row in rel.fetchall():
                r = dict(zip(rel.columns, row, strict=True))
                rows.append({c: r.get(c) for c in RESULT_COLUMNS} | {"route": route})
        return rows

    def rank_to_table(self, name: str, raw: bool = False) -> None:
        """Materialise `rank(raw)` as table `name` (qid, route, rank, title_id, ...) for SQL that measures."""
        parts = [f"select qid, '{route}' as route, rank, title_id, title, year, score, matched, "
                 f"{f'{NO_UNMET} as unmet' if route == RAW_ROUTE else 'unmet'}, "
                 f"{'linked' if route == 'named_title' else 'null::boolean as linked'} "
                 f"from ({sql_file(f'rank_{route}')})"
                 for route in ((RAW_ROUTE,) if raw else ROUTES)]
        self.con.execute(f"create or replace table {name} as " + " union all ".join(parts))
