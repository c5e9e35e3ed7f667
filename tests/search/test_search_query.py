"""search(extraction): what a user of the CLI or the service sees, on the six-title KG of tiny.py."""

from __future__ import annotations

import json

import pytest
from tiny import engine

from search import search
from search.engine import SearchEngine


@pytest.fixture(scope="module")
def eng() -> SearchEngine:
    return engine()


def titles(result: dict) -> list[tuple[str, int]]:
    return [(r["title"], r["year"]) for r in result["results"]]


def ext(intent: str, *entities: tuple[str, str]) -> dict:
    return {"intent": intent, "entities": [{"type": t, "value": v} for t, v in entities]}


def test_result_is_json_and_says_why(eng: SearchEngine) -> None:
    got = search(ext("recommend", ("genre", "SCI-FI"), ("media_type", "film"), ("year", "the 70s"),
                     ("platform", "Netflix")), engine=eng)
    assert json.loads(json.dumps(got)) == got
    assert got["route"] == "constraints" and titles(got) == [("Alien", 1979), ("Solaris", 1972)]
    assert got["unused"] == [{"type": "platform", "value": "Netflix"}]
    first = got["results"][0]
    assert first["rank"] == 1 and first["media_type"] == "movie"
    assert [(m["type"], m["kg_value"], m["how"]) for m in first["matched"]] == [
        ("genre", "science fiction", "exact"), ("media_type", "movie", "exact"), ("year", "1979", "year")]


def test_accents_case_and_typos_still_find_the_title(eng: SearchEngine) -> None:
    assert titles(search(ext("play", ("title", "AMELIE")), engine=eng)) == [("Amélie", 2001)]
    got = search(ext("title_info", ("title", "Alein")), engine=eng)
    assert titles(got) == [("Alien", 1979)] and got["results"][0]["linked"] is True
    assert got["results"][0]["matched"][0]["how"] == "typo"


def test_a_year_picks_between_remake_and_original(eng: SearchEngine) -> None:
    old = search(ext("where_to_watch", ("title", "Solaris"), ("year", "the 70s")), engine=eng)
    new = search(ext("where_to_watch", ("title", "Solaris"), ("year", "2002")), engine=eng)
    assert titles(old) == [("Solaris", 1972), ("Solaris", 2002)] and old["results"][0]["linked"]
    assert titles(new) == [("Solaris", 2002), ("Solaris", 1972)] and new["results"][0]["linked"]
    both = search(ext("where_to_watch", ("title", "Solaris")), engine=eng)
    assert [r["linked"] for r in both["results"]] == [False, False]  # a disambiguation list


def test_similar_to_excludes_the_named_title(eng: SearchEngine) -> None:
    got = search(ext("similar_to", ("title", "Alien")), engine=eng)
    assert ("Alien", 1979) not in titles(got) and titles(got)[0] == ("Aliens", 1986)
    assert {"type": "actor", "value": "Sigourney Weaver", "kg_value": "Sigourney Weaver", "how": "shared"} \
        in got["results"][0]["matched"]


def test_out_of_scope_and_unknown_intents_get_nothing(eng: SearchEngine) -> None:
    for e in (ext("out_of_scope"), ext("no_such_intent", ("genre", "drama")), {"intent": None}):
        got = search(e, engine=eng)
        assert got["results"] == [] and got["route"] is None


def test_raw_query_baseline(eng: SearchEngine) -> None:
    got = search(None, "the one with the sentient ocean", engine=eng)
    assert got["route"] == "raw_query" and {t for t, _ in titles(got)} == {"Solaris"}
    with pytest.raises(ValueError, match="give an extraction"):
        search(None, None, engine=eng)


def test_concurrent_callers_get_their_own_answers(eng: SearchEngine) -> None:
    """A service calls search() from several threads; requests must not mix on the shared connection."""
    from concurrent.futures import ThreadPoolExecutor

    asks = [ext("play", ("title", "Amélie")), ext("similar_to", ("title", "Alien")),
            ext("recommend", ("genre", "science fiction"), ("year", "the 70s"))] * 6
    alone = [titles(search(a, engine=eng)) for a in asks]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda a: titles(search(a, engine=eng)), asks))
    assert together == alone
