"""End-to-end retrieval: search the KG with gold, model and no extraction; measure the titles in SQL.

`measure_retrieval(predictions, records, out_dir)` runs search's rankings (sql/search) three times over
one predictions.parquet (inputs gold, model, raw_query), builds the shared steps of
sql/models/*/retrieval/ (`int_measured_queries`, `int_seed_answers` and `int_result_checks`: each title
of the first 10 judged against every gold constraint, wishes and exclusions), then runs every
sql/retrieval/retrieval_*.sql over them, `results` (input, qid, route, rank, title_id, title, ...,
unmet), `gold_constraints` and `gold_constraint_matches` (search's int_request_constraints and
int_constraint_matches of the gold extraction) and the KG tables;
each table lands in out_dir/tables/<name>.csv|json (the report shows them) and the returned dict is
metrics.json's `retrieval` block. Settings: eval/retrieval.yml.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from schemas import DEFAULT_TAXONOMY, ConfigError, Taxonomy, load_taxonomy, load_yaml, unknown_keys
from schemas.config import did_you_mean
from schemas.sql_project import SQL_ROOT, domain_models, model_sql, read_sql
from schemas.taxonomy import dataset_taxonomy
from search.config import load_search_config
from search.engine import SearchEngine

SQL_DIR = SQL_ROOT / "retrieval"
DEFAULT_CONFIG = Path(__file__).with_name("retrieval.yml")
INPUTS = ("gold", "model", "raw_query")
MEASURES = ("seed_title", "constraints", "similar", "exclusions")
REQUESTS_MODEL = "stg_eval_requests"


TITLE_MEASURES = ("seed_title", "constraints", "similar")  # which titles answer an intent


def measure_problems(measures: dict[str, Any], tax: Taxonomy, where: str) -> list[str]:
    """Every searchable intent of the taxonomy is measured (by a title measure and by exclusions), and no
    intent that is not: an intent added to the taxonomy is never silently left out of the retrieval block."""
    listed = {m: v for m, v in measures.items() if isinstance(v, list)}
    problems = [f"{where}: measures.{m}: unknown intent '{i}'{did_you_mean(str(i), tax.intents)}"
                for m, v in listed.items() for i in v if i not in tax.intents]
    problems += [f"{where}: measures.{m}: intent '{i}' is marked `searchable: false` in {tax.path}, so "
                 "search returns it no titles; remove it"
                 for m, v in listed.items() for i in v if i in tax.unsearchable]
    titled = {i for m in TITLE_MEASURES for i in listed.get(m, ())}
    problems += [f"{where}: measures: intent '{i}' ({tax.path}) is in none of {', '.join(TITLE_MEASURES)}; "
                 f"list it under the one that judges its titles, or mark it `searchable: false` in {tax.path}"
                 for i in tax.searchable_intents if i not in titled]
    problems += [f"{where}: measures.exclusions: intent '{i}' ({tax.path}) is missing; list every searchable "
                 "intent there" for i in tax.searchable_intents if i not in listed.get("exclusions", ())]
    return problems


def load_retrieval_config(path: Path = DEFAULT_CONFIG, tax: Taxonomy | None = None) -> dict[str, Any]:
    """eval/retrieval.yml, checked against `tax` (default: schemas/taxonomy.yaml)."""
    raw = load_yaml(path) or {}
    problems = unknown_keys(raw, ("enabled", "search_config", "measures"), str(path))
    measures = raw.get("measures") or {}
    problems += unknown_keys(measures, MEASURES, f"{path}: measures")
    problems += [f"{path}: measures.{m}: must be a list of intents" for m, v in measures.items()
                 if not isinstance(v, list)]
    tax = tax or load_taxonomy()
    problems += measure_problems(measures, tax, str(path))
    search_config = Path(raw.get("search_config") or "search/config.yml")
    enabled = raw.get("enabled", True) is not False
    try:
        if enabled:  # its routes and pools too, so a missing intent is refused before any decoding
            load_search_config(search_config, tax)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return {"enabled": enabled, "search_config": search_config, "measures": measures}


def _records_table(records: Iterable[Mapping[str, Any]]) -> pa.Table:
    rows = [{"qid": str(r["id"]), "split": r.get("split"), "intent": r["intent"],
             "seed_title": (r.get("meta") or {}).get("seed_title", r.get("seed_title")), "query": r["query"]}
            for r in records]
    return pa.Table.from_pylist(rows, schema=pa.schema([(c, pa.string()) for c in
                                                        ("qid", "split", "intent", "seed_title", "query")]))


def search_all(eng: SearchEngine, predictions: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Fill `results` (all three inputs), `records` and `gold_constraints` in the engine's DuckDB."""
    con = eng.con
    recs = _records_table(records)  # noqa: F841 - read by name (DuckDB's replacement scan)
    con.execute("create or replace table records as select * from recs")
    from eval.score import source_query

    # eval.score's reading of the long form: a file from before entities had a polarity reads as wishes
    con.execute(f"create or replace table predictions as {source_query(predictions)}")
    con.execute(f"create or replace table {REQUESTS_MODEL} as {model_sql(REQUESTS_MODEL)}")
    # Only the measured queries: ids in both the predictions and the records.
    con.execute("delete from stg_eval_requests where qid not in (select qid from records)")
    for name in ("gold", "model"):
        con.execute("create or replace table requests as select qid, position, field, value, exclude, "
                    "canonical from stg_eval_requests where input = ?", [name])
        eng.stage_requests()
        if name == "gold":
            # the gold extraction's constraints and the titles satisfying them, for the judge
            for gold, model in (("gold_constraints", "int_request_constraints"),
                                ("gold_constraint_matches", "int_constraint_matches")):
                con.execute(f"create or replace table {gold} as select * from {model}")
        eng.rank_to_table(f"results_{name}")
    con.execute("create or replace table request_text as select r.qid, r.query from records as r "
                "where r.qid in (select qid from stg_eval_requests)")
    eng.rank_to_table("results_raw_query", raw=True)
    con.execute("create or replace table results as "
                + " union all ".join(f"select '{i}' as input, * from results_{i}" for i in INPUTS))
    con.execute("delete from records where qid not in (select qid from stg_eval_requests)")


def block(tables: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """metrics.json's `retrieval`: per input, per intent; plus the issue's find_title ratios."""
    out: dict[str, Any] = {"inputs": list(INPUTS)}
    for name, rows in tables.items():
        key = name.removeprefix("retrieval_")
        out[key] = {i: {r["intent"]: {k: v for k, v in r.items() if k not in ("input", "intent")}
                        for r in rows if r["input"] == i} for i in INPUTS}
    seed = out.get("seed_title", {})
    hit = {i: (seed.get(i, {}).get("find_title") or {}).get("hit_at_10") for i in INPUTS}
    if hit["gold"] and hit["model"] is not None:
        out["find_title_model_vs_gold_hit_at_10"] = hit["model"] / hit["gold"]
    if hit["model"] is not None and hit["raw_query"] is not None:
        out["find_title_model_minus_raw_hit_at_10"] = hit["model"] - hit["raw_query"]
    return out


@functools.lru_cache(maxsize=2)
def engine_for(search_config: Path, kg_dir: Path | None, taxonomy: str = str(DEFAULT_TAXONOMY)
               ) -> SearchEngine:
    """One engine per (settings, KG, taxonomy) for the whole eval: loading the KG and its BM25 weights is
    ~1 s."""
    tax = load_taxonomy(taxonomy)
    cfg = load_search_config(search_config, tax)
    return SearchEngine(dataclasses.replace(cfg, kg=kg_dir) if kg_dir else cfg, tax)


def data_kg(data: Path) -> Path | None:
    """The KG a dataset was generated from (its manifest's config.kg), so seed titles can be found."""
    manifest = data / "manifest.json"
    if not manifest.is_file():
        return None
    kg = (json.loads(manifest.read_text(encoding="utf-8")).get("config") or {}).get("kg")
    return Path(kg) if kg and Path(kg).is_dir() else None


def add_retrieval(metrics: dict[str, Any], predictions: Path, records: list[Mapping[str, Any]],
                  out_dir: Path, data: Path, config: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    """The hook of `python -m eval`: measure, put the block into metrics and out_dir/metrics.json."""
    tax = dataset_taxonomy(data)  # the labels the records carry
    cfg = load_retrieval_config(config, tax)
    if not cfg["enabled"]:
        return metrics
    eng = engine_for(cfg["search_config"], data_kg(data), tax.path)
    metrics["retrieval"] = measure_retrieval(predictions, records, out_dir, config, eng)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    return metrics


def measure_retrieval(predictions: str | Path, records: Iterable[Mapping[str, Any]], out_dir: str | Path,
                      config: Path = DEFAULT_CONFIG, engine: SearchEngine | None = None) -> dict[str, Any]:
    """Search with the three inputs, run sql/retrieval/retrieval_*.sql, write tables; the block."""
    from eval.score import Table, write_table  # the same table files as every other metric

    tax = engine.tax if engine else None
    cfg = load_retrieval_config(config, tax)
    eng = engine or SearchEngine(load_search_config(cfg["search_config"]))
    measured = [{"intent": i, "measure": m, "intent_order": n}
                for n, (m, i) in enumerate((m, i) for m, intents in cfg["measures"].items() for i in intents)]
    mi = pa.Table.from_pylist(measured, schema=pa.schema(  # noqa: F841 - read by name below
        [("intent", pa.string()), ("measure", pa.string()), ("intent_order", pa.int32())]))
    eng.con.execute("create or replace table measured_intents as select * from mi")
    values = ", ".join(f"('{i}', {n})" for n, i in enumerate(INPUTS))
    eng.con.execute(f"create or replace table retrieval_inputs as select * from (values {values}) "
                    "as t (input, input_order)")
    search_all(eng, Path(predictions), records)
    for path in domain_models("retrieval"):
        if path.stem != REQUESTS_MODEL:  # made by search_all, before the searches
            eng.con.execute(f"create or replace table {path.stem} as {read_sql(path)}")

    def save(name: str, sql: str) -> list[dict[str, Any]]:
        rel = eng.con.sql(sql)
        rows = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
        write_table(Table(name, list(rel.columns), rows), Path(out_dir) / "tables")
        return rows

    # Which seed-title queries were measured and which left out (not about their seed), for audit.
    save("seed_answers", "select qid, seed_is_answer from int_seed_answers order by qid")
    tables = {path.stem: save(path.stem, read_sql(path))
              for path in sorted(SQL_DIR.glob("retrieval_*.sql"))}
    return block(tables)


def retrieval_table(metrics: Iterable[Mapping[str, Any]]) -> str:
    """The end-to-end summary `python -m eval` prints under the headline: system x split x input."""
    def cell(block: Mapping[str, Any], measure: str, inp: str, intent: str, key: str) -> str:
        v = ((block.get(measure) or {}).get(inp) or {}).get(intent, {}).get(key)
        return "n/a" if v is None else f"{v:.3f}"

    head = ("| system | split | input | find_title hit@1 | find_title hit@10 | seed-title MRR (all) "
            "| recommend answered | recommend P@10 | recommend P@10 (complete) | similar_to P@10 "
            "| exclusion violations |\n|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [f"| {m['meta']['system']} | {m['meta']['split']} | {inp} "
            f"| {cell(b, 'seed_title', inp, 'find_title', 'hit_at_1')} "
            f"| {cell(b, 'seed_title', inp, 'find_title', 'hit_at_10')} "
            f"| {cell(b, 'seed_title', inp, '(all)', 'mrr')} "
            f"| {cell(b, 'answered', inp, 'recommend', 'share_answered')} "
            f"| {cell(b, 'precision', inp, 'recommend', 'precision_at_10')} "
            f"| {cell(b, 'precision', inp, 'recommend', 'complete_precision_at_10')} "
            f"| {cell(b, 'precision', inp, 'similar_to', 'precision_at_10')} "
            f"| {cell(b, 'exclusions', inp, '(all)', 'violation_rate')} |"
            for m in metrics if (b := m.get("retrieval")) for inp in b["inputs"]]
    return "\n".join([head, *rows]) if rows else ""
