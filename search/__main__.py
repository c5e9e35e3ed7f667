"""Ranked titles from the knowledge graph for a query, an extraction, or the raw text.

Usage: python -m search --run runs/x "query" [...]           parse with the run's model, then search
       python -m search --extraction '{"intent":..,"entities":[..]}' ["query"]
       python -m search --raw "query"                         BM25 of the raw text, no extraction
       [--config search/config.yml] [--eval-config eval/config.yml] [--json] [--export DIR]

Prints, per query, the extraction, the ranking that answered it, and the titles with the constraints
each one matched (how: exact, words, typo, year, text, shared) and the wishes it does not meet (a partial
match, after every complete one); the values the user rules out (removed titles) and the constraints
the KG cannot check (a platform, an audience) are listed after them. --json prints search()'s result
objects instead.
--export DIR writes the DuckDB database (KG, settings, macros, the last query's model tables) so any
sql/search file can be rerun by hand:
  duckdb -c "import database 'DIR'" -c ".read sql/search/rank_similar.sql"
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from schemas import ConfigError, load_taxonomy
from search.config import DEFAULT_CONFIG, load_search_config
from search.engine import SearchEngine
from search.query import search


def read_extraction(text: str) -> dict[str, Any]:
    try:
        ext = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError([f"--extraction: invalid JSON ({exc.msg} at column {exc.colno}); expected "
                           '{"intent": "...", "entities": [{"type": "...", "value": "..."}]}']) from None
    ents = ext.get("entities", []) if isinstance(ext, dict) else None
    if not isinstance(ext, dict) or not isinstance(ext.get("intent"), str) or not isinstance(ents, list) \
            or not all(isinstance(e, dict) and {"type", "value"} <= set(e) for e in ents):
        raise ConfigError(['--extraction: expected {"intent": "...", "entities": [{"type": "...", '
                           '"value": "..."}]}'])
    return ext


def describe(query: str | None, extraction: dict[str, Any] | None, result: dict[str, Any]) -> str:
    lines = [f"query: {query}"] if query else []
    if extraction is not None:
        ents = ", ".join(f"{e['type']}{'!=' if e.get('exclude') else '='}{e['value']}"
                         for e in extraction.get("entities", []))
        lines.append(f"extraction: {extraction.get('intent')} [{ents}]")
    lines.append(f"ranking: {result['route'] or 'none (no titles for this intent)'}")
    for r in result["results"]:
        why = "; ".join(f"{m['type']}={m['value']}" + (f" ~ {m['kg_value']}" if m.get("kg_value")
                                                        and m["kg_value"] != m["value"] else "")
                        + f" ({m['how']})" for m in r["matched"])
        link = " [linked]" if r.get("linked") else ""
        unmet = "; ".join(f"{m['type']}={m['value']}" for m in r.get("unmet") or [])
        lines.append(f"  {r['rank']:>2}. {r['title']} ({r['year']}, {r['media_type']}){link}  "
                     f"score {r['score']:.3f}  matched: {why}" + (f"  unmet: {unmet}" if unmet else ""))
    if not result["results"]:
        lines.append("  (no titles)")
    if result.get("excluded"):
        lines.append("  ruled out: " + ", ".join(f"{u['type']}={u['value']}" for u in result["excluded"]))
    if result["unused"]:
        lines.append("  unused: " + ", ".join(f"{u['type']}{'!=' if u.get('exclude') else '='}{u['value']}"
                                              for u in result["unused"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("queries", nargs="*", help="query text (several with --run or --raw)")
    how = ap.add_mutually_exclusive_group(required=True)
    how.add_argument("--run", type=Path, help="run folder whose model parses the queries")
    how.add_argument("--extraction", help="an extraction as JSON: no model needed")
    how.add_argument("--raw", action="store_true", help="BM25 of the raw query text, no extraction")
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--eval-config", type=Path, default=None,
                    help="decode settings for --run (default eval/config.yml): its `decode` section, "
                         "as make eval and make serve use")
    ap.add_argument("--json", action="store_true", help="print search()'s JSON result per query")
    ap.add_argument("--export", type=Path, help="write the DuckDB database here after the last query")
    args = ap.parse_args(argv)
    try:
        cfg = load_search_config(args.config)
        tax = load_taxonomy()
        if args.extraction is not None:
            if len(args.queries) > 1:
                raise ConfigError(["--extraction: give at most one query text with it"])
            jobs = [(args.queries[0] if args.queries else None, read_extraction(args.extraction), "ok")]
        elif not args.queries:
            raise ConfigError(["give a query (or --extraction JSON)"])
        elif args.raw:
            jobs = [(q, None, "ok") for q in args.queries]
        else:
            from search.parse import parse_queries, to_extraction

            parsed = parse_queries(args.queries, args.run, args.eval_config, tax)
            jobs = [(q, to_extraction(p), p["status"]) for q, p in zip(args.queries, parsed, strict=True)]
        engine = SearchEngine(cfg, tax)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for i, (query, extraction, status) in enumerate(jobs):
        if extraction is None and not args.raw:
            print(f"query: {query}\n  the model's output is not usable ({status}): no extraction, no titles")
            continue
        result = search(extraction, query if args.raw else None, engine)
        if args.json:
            print(json.dumps({"query": query, "extraction": extraction, **result}, ensure_ascii=False))
        else:
            print(("\n" if i else "") + describe(query, extraction, result))
    if args.export:
        engine.con.execute(f"export database '{args.export}'")
        print(f"exported the search database to {args.export}", file=sys.stderr)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
