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
    assert got["route"] == "constraints" and titles(got)[:2] == [("Alien", 1979), ("Solaris", 1972)]
    assert got["unused"] == [{"type": "platform", "value": "Netflix"}] and got["excluded"] == []
    first = got["results"][0]
    assert first["rank"] == 1 and first["media_type"] == "movie" and first["unmet"] == []
    assert [(m["type"], m["kg_value"], m["how"]) for m in first["matched"]] == [
        ("genre", "science fiction", "exact"), ("media_type", "movie", "exact"), ("year", "1979", "year")]
    # the complete matches first, then the closest others, each saying what it misses
    assert [r["unmet"] for r in got["results"][1:3]] == [[], [{"type": "year", "value": "the 70s"}]]


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


def test_exclusions_remove_titles_and_say_so(eng: SearchEngine) -> None:
    """The parser's output ("exclude", "canonical", offsets) as it comes: a ruled-out value removes
    every title meeting it, in every ranking; one the KG cannot check is reported unused."""
    parsed = {"intent": "recommend", "entities": [
        {"type": "genre", "value": "sci-fi", "start": 0, "end": 6, "exclude": False, "canonical": "science fiction"},
        {"type": "genre", "value": "scary stuff", "start": 8, "end": 19, "exclude": True, "canonical": "horror"},
        {"type": "platform", "value": "Hulu", "start": 25, "end": 29, "exclude": True, "canonical": "Hulu"}]}
    got = search(parsed, engine=eng)
    assert ("Alien", 1979) not in titles(got) and titles(got)[0] == ("Aliens", 1986)
    assert got["excluded"] == [{"type": "genre", "value": "scary stuff"}]
    assert got["unused"] == [{"type": "platform", "value": "Hulu", "exclude": True}]
    solaris = search(ext("play", ("title", "Solaris")) | {"entities": [
        {"type": "title", "value": "Solaris"}, {"type": "year", "value": "the 70s", "exclude": True}]}, engine=eng)
    assert titles(solaris) == [("Solaris", 2002)] and solaris["results"][0]["linked"]


def test_the_page_example_lists_the_closest_titles_on_the_shipped_kg() -> None:
    """"a tense sci-fi movie from the 80s with Sigourney Weaver": no title of the shipped KG meets all
    five wishes; Aliens (1986) and Ghostbusters (1984) miss only the mood, so they come first, before
    anything missing the actor or the year (Alien, 1979)."""
    from search.query import default_engine

    got = search(ext("recommend", ("mood", "tense"), ("genre", "sci-fi"), ("media_type", "movie"),
                     ("year", "the 80s"), ("actor", "Sigourney Weaver")), engine=default_engine())
    assert all(r["unmet"] for r in got["results"])  # no complete match in the KG
    first = {(r["title"], r["year"]) for r in got["results"][:2]}
    assert first == {("Aliens", 1986), ("Ghostbusters", 1984)}
    assert all(r["unmet"] == [{"type": "mood", "value": "tense"}] for r in got["results"][:2])
    assert len(got["results"]) == 10


def test_named_title_lookups_and_showtimes_get_the_named_title_ranking(eng: SearchEngine) -> None:
    """title_info covers "find the movie X", where_to_watch "is X playing" / "showtimes for X": both are
    routed to rank_named_title (search/config.yml routes), which links the one entry named."""
    lookup = search(ext("title_info", ("media_type", "movie"), ("title", "Amelie")), engine=eng)
    showtimes = search(ext("where_to_watch", ("title", "Aliens")), engine=eng)
    for got, want in ((lookup, ("Amélie", 2001)), (showtimes, ("Aliens", 1986))):
        assert got["route"] == "named_title" and titles(got)[0] == want and got["results"][0]["linked"]
    assert lookup["results"][0]["unmet"] == []  # it is a movie
    series = search(ext("title_info", ("media_type", "tv show"), ("title", "Amélie")), engine=eng)
    assert series["results"][0]["unmet"] == [{"type": "media_type", "value": "tv show"}]
