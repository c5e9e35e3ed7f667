"""`search(extraction) -> ranked results`: the one entry point for eval, the CLI and the service."""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Any

from search.engine import RAW_ROUTE, SearchEngine

# One DuckDB connection holds each engine's request tables: a service calling search() from several
# threads must not interleave two requests on it.
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def default_engine() -> SearchEngine:
    """The engine over search/config.yml's KG, built once per process (~0.5 s for 548 titles)."""
    return SearchEngine()


def request_rows(qid: str, extraction: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An extraction {"intent", "entities": [{"type", "value", "exclude"?, "canonical"?}]} (the parser's
    output, decoding.parser.to_spans) in the long `requests` form."""
    rows = [{"qid": qid, "position": 0, "field": "intent", "value": extraction.get("intent")}]
    for i, e in enumerate(extraction.get("entities") or [], 1):
        rows.append({"qid": qid, "position": i, "field": e.get("type"), "value": e.get("value"),
                     "exclude": bool(e.get("exclude", False)), "canonical": e.get("canonical")})
    return rows


def search(extraction: Mapping[str, Any] | None, query: str | None = None,
           engine: SearchEngine | None = None) -> dict[str, Any]:
    """Ranked KG titles for one extraction, JSON-able.

    {"intent", "route" (which ranking answered; null for out_of_scope), "results": [{"rank", "title",
    "year", "media_type", "score", "matched": [{"type", "value", "kg_value", "how"}], "unmet": [{"type",
    "value"}] (the wishes this title does not meet: [] for a complete match), "linked"}],
    "excluded": [{"type", "value"}]: the values the user rules out (every title meeting one is removed),
    "unused": [{"type", "value"}]: constraints the KG cannot check (a platform, an unreadable
    year; "exclude": true on one the user ruled out)}.
    With `extraction` None and a `query`, the raw-query BM25 baseline answers (route "raw_query").
    """
    eng = engine or default_engine()
    raw = extraction is None
    if raw and not query:
        raise ValueError("search: give an extraction, or a query for the raw-query baseline")
    with _LOCK:
        return _search(eng, extraction, query, raw)


def _search(eng: SearchEngine, extraction: Mapping[str, Any] | None, query: str | None,
            raw: bool) -> dict[str, Any]:
    eng.set_requests([] if raw else request_rows("q", extraction or {}),
                     [{"qid": "q", "query": query}] if query else [])
    hits = [] if raw else eng.con.execute("select route from intent_routes where intent = ?",
                                          [(extraction or {}).get("intent")]).fetchall()
    route = RAW_ROUTE if raw else (hits[0][0] if hits else None)
    rows = eng.rank(raw=raw, routes=[route] if route else [])
    media = {r[0]: r[1] for r in eng.con.execute("select title_id, media_type from kg_titles").fetchall()}
    results = [{"rank": r["rank"], "title": r["title"], "year": r["year"], "media_type": media[r["title_id"]],
                "score": round(float(r["score"]), 4), "matched": list(r["matched"]),
                "unmet": list(r["unmet"] or []), "linked": r["linked"]}
               for r in sorted(rows, key=lambda r: r["rank"])]
    constraints = [] if raw else eng.con.execute(
        "select entity_type, value, kind, is_excluded from int_request_constraints "
        "order by position").fetchall()
    unused = [{"type": t, "value": v, **({"exclude": True} if x else {})}
              for t, v, kind, x in constraints if kind == "unused"]
    excluded = [{"type": t, "value": v} for t, v, kind, x in constraints if x and kind != "unused"]
    return {"intent": None if raw else (extraction or {}).get("intent"), "route": route,
            "results": results, "excluded": excluded, "unused": unused}
