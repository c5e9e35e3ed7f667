"""Score one predictions.parquet with the DuckDB SQL in sql/scoring: metrics.json plus every result table.

Usage: python -m eval.score --predictions FILE --out DIR [--taxonomy schemas/taxonomy.yaml]
                            [--records data/default/test.jsonl]

FILE is the long form of eval/predictions.py (Parquet, or .csv / .jsonl): the four columns
(id, source, field, value) are required; `split` defaults to NULL, `status` to 'ok' on pred rows and
`exclude` (the entity's polarity) to false on entity rows (NULL on intent rows).
The SQL is the dbt-style project in sql/ (sql/README.md): `sql/macros/*.sql`, then the relations
`predictions` and `labels` (kind, label, label_order, label_group; from the taxonomy), then the views of
`sql/models/staging/scoring/` and `sql/models/intermediate/scoring/` in dependency order;
`sql/checks/*.sql` must return no rows; then every `sql/scoring/*.sql` (a short query over the views)
runs, sorted, into
DIR/tables/<name>.csv and .json, so a new .sql file joins the output without code changes. metrics.json
gathers the headline numbers from the known tables. `--records` (JSONL with id and query) adds the query
text to every table with an `id` column. DIR/setup.sql recreates all of it in the DuckDB CLI:
`duckdb -init DIR/setup.sql`, then `.read sql/scoring/per_class_intent.sql`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from eval.predictions import COLUMNS
from schemas import DEFAULT_TAXONOMY, ConfigError, Taxonomy, load_taxonomy, read_jsonl
from schemas.config import check_parquet
from schemas.outputs import claim_output_folder
from schemas.sql_project import SQL_ROOT, domain_models, load_macros, macro_files
from synth.frames import PEOPLE_POOLS

# A scored folder written before output folders carried the marker (schemas.outputs).
METRICS_MARK = (("metrics.json", '"predictions"'),)

SQL_DIR = SQL_ROOT / "scoring"
CHECK_DIR = SQL_ROOT / "checks"
HELD_OUT_POOLS = ("title", *PEOPLE_POOLS)  # the KG pools synth's heldout split partitions
OPTIONAL = ("split", "status", "exclude")
REQUIRED = tuple(c for c in COLUMNS if c not in OPTIONAL)  # the four-column long form
# `macro_avg` averages the classes present in gold or predictions (sklearn's labels=None);
# `taxonomy_macro_avg` every taxonomy class, absent ones as 0 (sql/scoring/averages_*.sql).
AVERAGES = {"macro avg": "macro_avg", "micro avg": "micro_avg", "weighted avg": "weighted_avg",
            "taxonomy macro avg": "taxonomy_macro_avg"}


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[dict[str, Any]]


def entity_group(tax: Taxonomy, name: str) -> str:
    """'names' for the types whose values the heldout split holds out of training (titles and people,
    synth/frames.py), 'closed_vocabulary' for the rest, shared by both sides."""
    return "names" if (tax.entity_types[name].source or name) in HELD_OUT_POOLS else "closed_vocabulary"


def label_rows(tax: Taxonomy) -> list[tuple[str, str, int, str | None]]:
    """The `labels` relation: (kind, label, label_order, label_group), in taxonomy order. Kind
    'exclusion' lists the entity types a user can rule out (taxonomy `exclusion.types`): the classes of
    the excluded-entity scores (sql/scoring/per_class_exclusion.sql)."""
    rows: list[tuple[str, str, int, str | None]] = [
        ("intent", name, i, None) for i, name in enumerate(tax.intent_names)]
    rows += [("entity", name, i, entity_group(tax, name)) for i, name in enumerate(tax.entity_names)]
    return rows + [("exclusion", name, i, None) for i, name in enumerate(tax.entity_names)
                   if name in tax.excludable]


def model_files() -> list[Path]:
    """The scoring models in creation order (staging before intermediate, each in dependency order)."""
    return domain_models("scoring")


def load_models(con: duckdb.DuckDBPyConnection, materialize: bool = False) -> None:
    """Create the staging and intermediate relations every metric file reads (after the macros and
    the `predictions` and `labels` relations). Each model file is `create or replace view <name> as`;
    materialized (dbt's `table`), each is computed once instead of once per metric file that reads it,
    which halved the CPU time of a 100,000-query scoring. setup.sql keeps them as views."""
    for path in model_files():
        text = path.read_text(encoding="utf-8")
        if materialize:
            view = f"create or replace view {path.stem} as"
            text = text.replace(view, view.replace(" view ", " table "), 1)
        con.execute(text)


def read_source(path: Path) -> str:
    """The DuckDB table function reading `path`: Parquet (eval.predict), or CSV / JSON lines by suffix."""
    src = sql_literal(str(path.resolve()))
    if path.suffix.lower() == ".csv":
        return f"read_csv({src}, all_varchar = true)"
    if path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
        return f"read_json({src})"
    return f"read_parquet({src})"


def predictions_query(path: Path, found: list[str]) -> str:
    """Select the seven-column `predictions` from a file in the long form. Only (id, source, field, value)
    are required: a missing `split` is NULL, a missing `status` is 'ok' on pred rows (NULL on gold), and
    an entity row without `exclude` is a wish (false); intent rows always carry NULL there, so a file
    written before entities had a polarity scores as it did."""
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected the long form "
                         f"{', '.join(REQUIRED)} (plus optional {', '.join(OPTIONAL)}) "
                         "of eval/predictions.py")
    split = "split" if "split" in found else "null::varchar as split"
    status = "status" if "status" in found else \
        "case when source = 'pred' then 'ok' end::varchar as status"
    polarity = "coalesce(cast(exclude as boolean), false)" if "exclude" in found else "false"
    exclude = f"case when field = 'intent' then null else {polarity} end as exclude"
    return f"select id, {split}, source, field, value, {status}, {exclude} from {read_source(path)}"


def source_query(predictions: str | Path) -> str:
    """The select that builds `predictions` from the file (see predictions_query)."""
    path = Path(predictions)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: predictions file not found; "
                                "write it with eval.predict or eval.baselines")
    found = [c[0] for c in duckdb.sql(f"describe select * from {read_source(path)}").fetchall()]
    return predictions_query(path, found)


def connect(predictions: str | Path, tax: Taxonomy, materialize: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the macros, `predictions` (materialised once), `labels` and the model
    views (tables with `materialize`, when every metric file will read them)."""
    query = source_query(predictions)
    con = duckdb.connect()
    load_macros(con)
    con.execute(f"create table predictions as {query}")
    con.execute("create table labels (kind varchar, label varchar, label_order integer, label_group varchar)")
    con.executemany("insert into labels values (?, ?, ?, ?)", label_rows(tax))
    load_models(con, materialize)
    return con


def run_sql(con: duckdb.DuckDBPyConnection, path: Path) -> Table:
    rel = con.sql(path.read_text(encoding="utf-8"))
    columns = list(rel.columns)
    return Table(path.stem, columns, [dict(zip(columns, row, strict=True)) for row in rel.fetchall()])


def run_checks(con: duckdb.DuckDBPyConnection, source: str | Path) -> None:
    """Raise with one line per failed check (sql/checks/*.sql must return zero rows)."""
    problems = []
    for path in sorted(CHECK_DIR.glob("*.sql")):
        table = run_sql(con, path)
        if table.rows:
            sample = ", ".join(str(r.get("id")) for r in table.rows[:5])
            problems.append(f"{source}: check {path.name} found {len(table.rows)} bad row(s), "
                            f"e.g. id {sample}; rewrite the file with eval.predictions.write_predictions")
    if problems:
        raise ValueError("\n".join(problems))


def add_queries(table: Table, queries: Mapping[str, str]) -> Table:
    """Put the query text right after `id` so error tables can be read on their own."""
    if "id" not in table.columns or "query" in table.columns:
        return table
    at = table.columns.index("id") + 1
    columns = table.columns[:at] + ["query"] + table.columns[at:]
    rows = [{c: (queries.get(r["id"]) if c == "query" else r[c]) for c in columns} for r in table.rows]
    return Table(table.name, columns, rows)


def write_table(table: Table, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / f"{table.name}.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=table.columns)
        writer.writeheader()
        writer.writerows(table.rows)
    (out_dir / f"{table.name}.json").write_text(
        json.dumps(table.rows, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")


def prf(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("precision", "recall", "f1", "support")}


def average(row: Mapping[str, Any]) -> dict[str, Any]:
    """An average plus how many classes it covers; the macro one also names the classes left out."""
    out = prf(row) | {"n_classes": row["n_classes"]}
    if row["average"] == "macro avg":
        out["classes_left_out"] = list(row["classes_left_out"])
    return out


def classification(per_class: Table, averages: Table) -> dict[str, Any]:
    """A classification_report-shaped dict: per_class plus macro/micro/weighted averages."""
    out: dict[str, Any] = {"per_class": {r["label"]: prf(r) for r in per_class.rows}}
    for row in averages.rows:
        out[AVERAGES[row["average"]]] = average(row)
    return out


def by_group(table: Table, tax: Taxonomy) -> dict[str, Any]:
    """Entity macro and micro averages per type group ('names', 'closed_vocabulary'), with its types."""
    out: dict[str, Any] = {}
    for row in table.rows:
        group = row["label_group"]
        out.setdefault(group, {"types": [t for t in tax.entity_names if entity_group(tax, t) == group]})
        out[group][AVERAGES[row["average"]]] = average(row)
    return out


def need(tables: Mapping[str, Table], name: str) -> Table:
    if name not in tables:
        raise FileNotFoundError(f"{SQL_DIR / (name + '.sql')}: missing; metrics.json is built from it")
    return tables[name]


def assemble(tables: Mapping[str, Table], tax: Taxonomy) -> dict[str, Any]:
    """The headline metrics.json from the known tables; every other table is listed under `tables`."""
    accuracy = need(tables, "accuracy_intent").rows[0]
    intent = classification(need(tables, "per_class_intent"), need(tables, "averages_intent"))
    intent["accuracy"] = accuracy["accuracy"]
    entities = classification(need(tables, "per_class_entity"), need(tables, "averages_entity"))
    entities["relaxed"] = classification(need(tables, "relaxed_entity"),
                                         need(tables, "averages_relaxed_entity"))
    entities["by_group"] = by_group(need(tables, "averages_entity_group"), tax)
    if "names" in entities["by_group"]:
        # names found whatever name type they were given (sql/scoring/names_any_type.sql)
        untyped = [r for r in need(tables, "names_any_type").rows if r["matching"] == "any names type"]
        entities["by_group"]["names"]["any_type"] = {k: untyped[0][k] for k in ("precision", "recall", "f1",
                                                                               "support", "tp", "fp", "fn")}
    return {
        "n_queries": accuracy["n_queries"],
        "intent": intent,
        "entities": entities,
        "exclusions": exclusions(tables),
        "exact_match": need(tables, "exact_match").rows[0]["exact_match"],
        "schema_valid_rate": need(tables, "schema_valid_rate").rows[0]["schema_valid_rate"],
        "status_counts": {r["status"]: r["n_queries"] for r in need(tables, "status_counts").rows},
        "tables": sorted(tables),
    }


def exclusions(tables: Mapping[str, Table]) -> dict[str, Any]:
    """metrics.json's `exclusions`: excluded-entity scores (per excludable type and averaged; `micro_avg`
    is the one exclusion F1), gold exclusions (`support`) and polarity flips (entities whose value was
    found with the wrong polarity), from per_class_exclusion, averages_exclusion, confusion_polarity."""
    out = classification(need(tables, "per_class_exclusion"), need(tables, "averages_exclusion"))
    cells = {(r["gold_polarity"], r["pred_polarity"]): r["n"]
             for r in need(tables, "confusion_polarity").rows}
    out["support"] = out["micro_avg"]["support"]
    out["flips"] = {"wish_read_as_exclusion": cells.get(("wish", "exclusion"), 0),
                    "exclusion_read_as_wish": cells.get(("exclusion", "wish"), 0)}
    return out


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def setup_sql(query: str, out_dir: Path, tax: Taxonomy) -> str:
    """A DuckDB CLI init script recreating the relations the SQL files read."""
    values = ",\n    ".join(f"({sql_literal(k)}, {sql_literal(lb)}, {i}, {sql_literal(g) if g else 'null'})"
                             for k, lb, i, g in label_rows(tax))
    return (
        f"-- duckdb -init {out_dir / 'setup.sql'}   then   .read {SQL_DIR / 'per_class_intent.sql'}\n"
        + "".join(f".read {p}\n" for p in macro_files())
        + f"create or replace view predictions as {query};\n"
        + "create or replace table labels as select * from (values\n    "
        + values + "\n) as t (kind, label, label_order, label_group);\n"
        + "".join(f".read {p}\n" for p in model_files())
    )


def score_predictions(path: str | Path, out_dir: str | Path, tax: Taxonomy,
                      queries: Mapping[str, str] | None = None,
                      meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run every sql/scoring/*.sql over `path`; write out_dir/metrics.json and tables/; return the metrics."""
    path, out_dir = Path(path), Path(out_dir)
    con = connect(path, tax, materialize=True)
    try:
        run_checks(con, path)
        tables = {p.stem: run_sql(con, p) for p in sorted(SQL_DIR.glob("*.sql"))}
        splits = [r[0] for r in con.execute(
            "select distinct split from predictions where split is not null order by split").fetchall()]
    finally:
        con.close()
    for table in tables.values():
        write_table(add_queries(table, queries) if queries else table, out_dir / "tables")
    metrics = {"predictions": str(path), "taxonomy": str(tax.path), "splits": splits, **assemble(tables, tax)}
    if meta:
        metrics["meta"] = dict(meta)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    (out_dir / "setup.sql").write_text(setup_sql(source_query(path), out_dir, tax), encoding="utf-8")
    return metrics


def read_queries(path: str | Path) -> dict[str, str]:
    """id -> query from a records JSONL file."""
    queries = {}
    for n, rec in enumerate(read_jsonl(path, "pass the records JSONL of the predicted split"), 1):
        if "id" not in rec or "query" not in rec:
            raise ConfigError([f"{path}: record {n} lacks 'id' or 'query'; expected records JSONL"])
        queries[str(rec["id"])] = rec["query"]
    return queries


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--predictions", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--taxonomy", type=Path, default=DEFAULT_TAXONOMY)
    ap.add_argument("--records", type=Path, help="records JSONL whose query text joins the tables")
    args = ap.parse_args(argv)
    try:
        claim_output_folder(args.out, METRICS_MARK)
        tax = load_taxonomy(args.taxonomy)
        queries = read_queries(args.records) if args.records else None
        if args.predictions.suffix.lower() not in (".csv", ".json", ".jsonl", ".ndjson"):
            check_parquet(args.predictions)
        elif not args.predictions.is_file():
            raise ConfigError([f"{args.predictions}: predictions file not found"])
        m = score_predictions(args.predictions, args.out, tax, queries)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    exact = "n/a" if m["exact_match"] is None else f"{m['exact_match']:.4f}"
    ex = m["exclusions"]
    excluded = (f", exclusion F1 {ex['micro_avg']['f1']:.4f} ({ex['support']} ruled out)"
                if ex["support"] else "")
    print(f"{m['n_queries']} queries: intent macro-F1 {m['intent']['macro_avg']['f1']:.4f}, "
          f"entity macro-F1 {m['entities']['macro_avg']['f1']:.4f}, exact match {exact}{excluded}")
    print(f"wrote {args.out / 'metrics.json'} and {len(m['tables'])} tables in {args.out / 'tables'}")


if __name__ == "__main__":
    main()
