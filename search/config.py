"""Load search/config.yml strictly: unknown keys and bad values are errors, all reported at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas import ConfigError, Taxonomy, load_taxonomy, load_yaml, unknown_keys
from schemas.config import did_you_mean

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")
TOP = ("kg", "constraints", "ranking", "stopwords", "media_type", "genre", "year_phrases", "routes")
ROUTES = ("constraints", "similar", "named_title")
RANKING_NUMBERS = ("top_k", "disambiguation", "chars_per_edit", "max_edits", "other_role_factor",
                   "soft_min_coverage", "bm25_k1", "bm25_b")


@dataclass(frozen=True)
class SearchConfig:
    kg: Path
    hard: tuple[str, ...]
    soft: tuple[str, ...]
    partial: tuple[str, ...]
    person: tuple[str, ...]
    closed: tuple[str, ...]
    unused: tuple[str, ...]    # pools the KG holds no data for: their values are reported, never ranked
    relax: tuple[str, ...]     # hard and soft pools, first relaxed first (partial matches' ranking)
    ranking: dict[str, float]
    similar_weights: dict[str, float]
    stopwords: tuple[str, ...]
    media_type: dict[str, list[str]]
    genre: dict[str, list[str]]
    year_phrases: dict[str, tuple[int, int]]
    routes: dict[str, list[str]]
    path: str = str(DEFAULT_CONFIG)


def _words(raw: Any, where: str, problems: list[str]) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must map a KG value to a list of query words")
        return {}
    bad = [k for k, v in raw.items() if not isinstance(v, list) or not all(isinstance(w, str) for w in v)]
    problems += [f"{where}.{k}: must be a list of strings" for k in bad]
    return {str(k): [str(w) for w in v] for k, v in raw.items() if k not in bad}


def _number(raw: dict[str, Any], key: str, where: str, problems: list[str]) -> float:
    v = raw.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
        problems.append(f"{where}.{key}: expected a number >= 0, got {v!r}")
        return 0.0
    return float(v)


def relax_problems(cons: dict[str, Any], where: str) -> list[str]:
    """constraints.relax must list every hard and soft pool exactly once: a pool it left out would have no
    place in the ranking of partial matches."""
    relax = cons.get("relax")
    if not isinstance(relax, list) or not all(isinstance(p, str) for p in relax):
        return [f"{where}: expected a list of the hard and soft pools, first relaxed first"]
    pools = [*(cons.get("hard") or ()), *(cons.get("soft") or ())]
    problems = [f"{where}: '{p}' is listed {relax.count(p)} times" for p in dict.fromkeys(relax)
                if relax.count(p) > 1]
    problems += [f"{where}: '{p}' is not a hard or soft pool{did_you_mean(p, pools)}" for p in relax
                 if p not in pools]
    problems += [f"{where}: missing pool '{p}'; list every hard and soft pool" for p in pools
                 if p not in relax]
    return problems


def taxonomy_problems(routes: dict[str, list[str]], cons: dict[str, Any], tax: Taxonomy, where: str
                      ) -> list[str]:
    """Every intent of the taxonomy has one route unless it is marked `searchable: false` there, and every
    entity type's pool is ranked (hard, soft) or declared unused: a label added to the taxonomy is never
    silently left out of search."""
    routed = {i: r for r, intents in routes.items() for i in intents}
    problems = [f"{where}: routes: intent '{i}' ({tax.path}) has no route; list it under one of "
                f"{', '.join(ROUTES)}, or mark it `searchable: false` in {tax.path}"
                for i in tax.searchable_intents if i not in routed]
    problems += [f"{where}: routes.{routed[i]}: intent '{i}' is marked `searchable: false` in {tax.path}; "
                 "remove it from one of the two" for i in tax.unsearchable if i in routed]
    placed = {"title", *(cons.get("hard") or ()), *(cons.get("soft") or ()), *(cons.get("unused") or ())}
    problems += [f"{where}: constraints: entity type '{n}' ({tax.path}) has pool '{et.source}', which is in "
                 "none of hard, soft, unused; add it to one" for n, et in tax.entity_types.items()
                 if et.source not in placed]
    return problems


def load_search_config(path: str | Path = DEFAULT_CONFIG, tax: Taxonomy | None = None) -> SearchConfig:
    """search/config.yml, checked on its own and against `tax` (default: schemas/taxonomy.yaml)."""
    path = Path(path)
    raw = load_yaml(path) or {}
    where = str(path)
    if not isinstance(raw, dict):
        raise ConfigError([f"{where}: expected a mapping with keys {', '.join(TOP)}"])
    problems = unknown_keys(raw, TOP, where)
    problems += [f"{where}: missing key '{k}'" for k in TOP if k not in raw]
    cons = raw.get("constraints") or {}
    problems += unknown_keys(cons, ("hard", "soft", "partial", "person", "closed", "relax", "unused"),
                             f"{where}: constraints")
    problems += relax_problems(cons, f"{where}: constraints.relax")
    rank = raw.get("ranking") or {}
    problems += unknown_keys(rank, (*RANKING_NUMBERS, "similar_weights"), f"{where}: ranking")
    numbers = {k: _number(rank, k, f"{where}: ranking", problems) for k in RANKING_NUMBERS}
    weights_raw = rank.get("similar_weights") or {}
    weights = {str(k): _number(weights_raw, k, f"{where}: ranking.similar_weights", problems)
               for k in weights_raw}
    years: dict[str, tuple[int, int]] = {}
    for phrase, span in (raw.get("year_phrases") or {}).items():
        if not (isinstance(span, list) and len(span) == 2 and all(type(y) is int for y in span)):
            problems.append(f"{where}: year_phrases.{phrase}: expected [first_year, last_year]")
            continue
        years[str(phrase)] = (span[0], span[1])
    stop = raw.get("stopwords") or []
    if not isinstance(stop, list):
        problems.append(f"{where}: stopwords must be a list of words")
        stop = []
    media = _words(raw.get("media_type") or {}, f"{where}: media_type", problems)
    genre = _words(raw.get("genre") or {}, f"{where}: genre", problems)
    routes = _words(raw.get("routes") or {}, f"{where}: routes", problems)
    problems += unknown_keys(routes, ROUTES, f"{where}: routes")
    listed = [i for intents in routes.values() for i in intents]
    # one ranking answers an intent: search() and request_routes.sql would otherwise disagree
    problems += [f"{where}: routes: intent '{i}' is listed under {listed.count(i)} routes; keep it under one"
                 for i in dict.fromkeys(listed) if listed.count(i) > 1]
    problems += taxonomy_problems(routes, cons, tax or load_taxonomy(), where)
    if numbers["chars_per_edit"] < 1:
        problems.append(f"{where}: ranking.chars_per_edit: must be >= 1 (letters per allowed typo)")
    if problems:
        raise ConfigError(problems)
    return SearchConfig(kg=Path(raw["kg"]), hard=tuple(cons.get("hard") or ()),
                        soft=tuple(cons.get("soft") or ()),
                        partial=tuple(cons.get("partial") or ()), person=tuple(cons.get("person") or ()),
                        closed=tuple(cons.get("closed") or ()), unused=tuple(cons.get("unused") or ()),
                        relax=tuple(cons["relax"]),
                        ranking=numbers, similar_weights=weights, stopwords=tuple(str(s) for s in stop),
                        media_type=media, genre=genre, year_phrases=years, routes=routes,
                        path=str(path))
