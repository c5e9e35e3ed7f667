"""One given/expect fixture per search SQL file (sql/search, sql/models/*/search; worked out by hand on
the six-title KG of tiny.py),
BM25 checked against bm25s (an independent implementation), plus sqlfluff lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import bm25s
import pytest
from rapidfuzz.distance import JaroWinkler
from tiny import ALIEN, ALIENS, AMELIE, DARK, SOLARIS_1972, SOLARIS_2002, engine

from schemas.sql_project import MODEL_DIR, model_sql
from search.engine import SQL_DIR, SearchEngine, sql_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def eng() -> SearchEngine:
    return engine()


def given(eng: SearchEngine, requests: list[tuple[str, str, list[tuple]]]) -> None:
    """requests: (qid, intent, [(type, value), ...]) -> the long `requests` table, staged; an entity
    (type, value, True) is one the user rules out."""
    rows = []
    for qid, intent, entities in requests:
        rows.append({"qid": qid, "position": 0, "field": "intent", "value": intent})
        rows += [{"qid": qid, "position": i, "field": e[0], "value": e[1], "exclude": len(e) > 2 and e[2]}
                 for i, e in enumerate(entities, 1)]
    eng.set_requests(rows)


def query(eng: SearchEngine, name: str, columns: str = "*", order: str = "", where: str = "") -> list[tuple]:
    """Run a model (stg_* / int_*) or a ranking file by name over the staged requests."""
    sql = model_sql(name) if name.startswith(("stg_", "int_")) else sql_file(name)
    filtered = f" where {where}" if where else ""
    order_by = f" order by {order}" if order else ""
    return eng.con.execute(f"select {columns} from ({sql}){filtered}{order_by}").fetchall()


def test_every_sql_file_has_a_fixture() -> None:
    files = {p.stem for p in [*SQL_DIR.glob("*.sql"), *MODEL_DIR.glob("*/search/*.sql")]}
    tested = {"stg_kg_values", "stg_kg_term_weights", "int_request_constraints",
              "int_constraint_matches", "int_soft_scores", "int_named_titles", "rank_constraints",
              "rank_similar", "rank_named_title", "rank_raw_query", "stg_request_routes",
              "int_constraint_counts", "int_hard_by_title", "int_soft_by_title",
              "int_excluded_titles", "int_unmet_by_title"}
    assert files == tested
    assert len(files) == 16


def test_kg_values(eng: SearchEngine) -> None:
    rows = query(eng, "stg_kg_values", order="pool, value")
    # 6 actors, 6 characters, 6 directors, 7 genres, 4 languages, 2 media types, 6 moods, 6 plots,
    # 5 settings (Solaris x2 share one), 6 themes
    assert len(rows) == 54
    assert ("character", "Amélie Poulain", "amelie poulain") in rows
    assert ("setting", "Montmartre, Paris", "montmartre paris") in rows
    assert [r for r in rows if r[0] == "language"] == [
        ("language", "English", "english"), ("language", "French", "french"),
        ("language", "German", "german"), ("language", "Russian", "russian")]


@pytest.mark.parametrize("doc", ["soft", "full"])
def test_kg_term_weights_equal_bm25s(eng: SearchEngine, doc: str) -> None:
    rows = eng.con.execute(f"select title_id, token, weight from ({model_sql('stg_kg_term_weights')}) "
                           "where doc = ?", [doc]).fetchall()
    ids = sorted({t for t, _, _ in rows})
    # Each document's bag of tokens, rebuilt from the KG tables: bm25s then does all the arithmetic.
    bags = {i: [] for i in ids}
    counts = eng.con.execute(
        "select title_id, token, count(*) from (select d.title_id, unnest(text_tokens(d.value)) as token "
        "from (select f.title_id, f.value from kg_facts as f where ? = 'full' or f.pool in "
        "(select pool from pool_kinds where kind = 'soft') union all select t.title_id, t.title || ' ' || t.year "
        "from kg_titles as t where ? = 'full') as d) where token not in (select token from stopwords) "
        "group by all", [doc, doc]).fetchall()
    for i, token, n in counts:
        bags[i] += [token] * n
    model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    model.index([bags[i] for i in ids], show_progress=False)
    assert len(rows) == sum(len(set(b)) for b in bags.values())
    for title_id, token, weight in rows:
        assert weight == pytest.approx(float(model.get_scores([token])[ids.index(title_id)]), rel=1e-5)


def test_soft_document_tokens(eng: SearchEngine) -> None:
    got = {t for (t,) in eng.con.execute(
        "select token from stg_kg_term_weights where doc = 'soft' and title_id = ?", [AMELIE]).fetchall()}
    # 'a' is a stopword; a trailing s goes ('strangers', and 'paris' too: the same on both sides);
    # the setting's comma splits words
    assert got == {"montmartre", "pari", "loneliness", "whimsical", "shy", "waitress", "helping", "stranger"}


def test_request_constraints(eng: SearchEngine) -> None:
    given(eng, [
        ("q1", "recommend", [("genre", "Sci-Fi"), ("media_type", "films"), ("year", "the late 70s"),
                             ("platform", "Netflix"), ("mood", "Tense")]),
        ("q2", "similar_to", [("title", "The Matrix"), ("year", "the golden age of Hollywood"),
                              ("year", "someday"), ("year", "last year")]),
        # media types are a closed set: a typo of one still counts, a stray word does not
        ("q3", "recommend", [("media_type", "moive"), ("media_type", "plz")]),
    ])
    cols = "qid, intent, position, entity_type, pool, kind, value, value_key, first_year, last_year"
    assert query(eng, "int_request_constraints", cols, "qid, position") == [
        ("q1", "recommend", 1, "genre", "genre", "hard", "Sci-Fi", "science fiction", None, None),
        ("q1", "recommend", 2, "media_type", "media_type", "hard", "films", "movie", None, None),
        ("q1", "recommend", 3, "year", "year", "hard", "the late 70s", "late 70s", 1976, 1979),
        ("q1", "recommend", 4, "platform", "platform", "unused", "Netflix", "netflix", None, None),
        ("q1", "recommend", 5, "mood", "mood", "soft", "Tense", "tense", None, None),
        ("q2", "similar_to", 1, "title", "title", "title", "The Matrix", "matrix", None, None),
        ("q2", "similar_to", 2, "year", "year", "hard", "the golden age of Hollywood", "golden age of hollywood",
         1927, 1960),
        ("q2", "similar_to", 3, "year", "year", "unused", "someday", "someday", None, None),
        ("q2", "similar_to", 4, "year", "year", "hard", "last year", "last year", 2025, 2025),
        ("q3", "recommend", 1, "media_type", "media_type", "hard", "moive", "moive", None, None),
        ("q3", "recommend", 2, "media_type", "media_type", "unused", "plz", "plz", None, None),
    ]


def test_request_constraints_take_the_canonical_value_and_the_polarity(eng: SearchEngine) -> None:
    """A closed type's value that names no KG label is compared by its lexicon's canonical value ('dark
    british comedy' -> comedy, 'made-for-tv movie' -> movie); one that names a KG label stays as
    written ('romantic comedy' is not all romance); an excluded entity keeps its polarity."""
    given(eng, [("q1", "recommend", [("genre", "dark british comedy"), ("genre", "romance"),
                                     ("media_type", "made-for-tv movie", True), ("genre", "horror", True),
                                     ("platform", "Netflix", True)])])
    cols = "position, kind, value_key, is_excluded"
    assert query(eng, "int_request_constraints", cols, "position") == [
        (1, "hard", "comedy", False), (2, "hard", "romance", False), (3, "hard", "movie", True),
        (4, "hard", "horror", True), (5, "unused", "netflix", True)]
    # an extraction from the parser carries its canonical already: it is kept
    eng.set_requests([{"qid": "q2", "position": 0, "field": "intent", "value": "recommend"},
                      {"qid": "q2", "position": 1, "field": "genre", "value": "spooky fun", "canonical": "horror"}])
    assert query(eng, "int_request_constraints", "value_key") == [("horror",)]


def test_constraint_matches_by_search_rule(eng: SearchEngine) -> None:
    given(eng, [
        ("q1", "recommend", [("actor", "sigourney weavr"), ("year", "the 70s"), ("character", "Kelvin"),
                             ("language", "french")]),
        ("q2", "recommend", [("actor", "Tom Hanks")]),  # not Tom Skerritt: Jaro-Winkler alone would say 0.87
        ("q3", "find_title", [("actor", "Ellen Ripley")]),  # no actor of that name: found as a character
    ])
    hard = "kind = 'hard' and similarity > 0"  # search's rule over hard constraints
    got = query(eng, "int_constraint_matches", "qid, position, entity_type, value, title_id, kg_value, how",
                "qid, position, title_id", hard)
    assert got == [
        ("q1", 1, "actor", "sigourney weavr", ALIEN, "Sigourney Weaver", "typo"),
        ("q1", 1, "actor", "sigourney weavr", ALIENS, "Sigourney Weaver", "typo"),
        ("q1", 2, "year", "the 70s", ALIEN, "1979", "year"),
        ("q1", 2, "year", "the 70s", SOLARIS_1972, "1972", "year"),
        ("q1", 3, "character", "Kelvin", SOLARIS_1972, "Kris Kelvin", "words"),
        ("q1", 3, "character", "Kelvin", SOLARIS_2002, "Chris Kelvin", "words"),
        ("q1", 4, "language", "french", AMELIE, "French", "exact"),
        ("q3", 1, "actor", "Ellen Ripley", ALIEN, "Ellen Ripley", "exact as character"),
        ("q3", 1, "actor", "Ellen Ripley", ALIENS, "Ellen Ripley", "exact as character"),
    ]
    sim = query(eng, "int_constraint_matches", "similarity", "qid, position, title_id", hard)
    assert sim[0][0] == pytest.approx(0.99 * JaroWinkler.similarity("sigourney weavr", "sigourney weaver"))
    assert [s for (s,) in sim[2:]] == [1.0, 1.0, 0.9, 0.9, 1.0, 0.8, 0.8]  # other_role_factor 0.8


def test_soft_scores(eng: SearchEngine) -> None:
    given(eng, [("q1", "recommend", [("plot", "a sentient ocean"), ("mood", "whimsical"),
                                     ("plot", "ocean creatures")])])
    got = query(eng, "int_soft_scores", "qid, position, title_id, coverage, exact", "position, title_id")
    assert got == [
        ("q1", 1, SOLARIS_1972, 1.0, True), ("q1", 1, SOLARIS_2002, 1.0, True),
        ("q1", 2, AMELIE, 1.0, True),
        ("q1", 3, SOLARIS_1972, 0.5, False), ("q1", 3, SOLARIS_2002, 0.5, False),
    ]
    weights = dict(eng.con.execute("select token, sum(weight) from stg_kg_term_weights where doc = 'soft' "
                                   "and title_id = ? group by token", [SOLARIS_1972]).fetchall())
    score = query(eng, "int_soft_scores", "score", "position, title_id")[0][0]
    assert score == pytest.approx(weights["sentient"] + weights["ocean"])


def test_named_titles(eng: SearchEngine) -> None:
    given(eng, [("q1", "title_info", [("title", "solaris"), ("year", "2002")]),
                ("q2", "play", [("title", "Amelie")]),
                ("q3", "play", [("title", "Alein")])])  # one transposition from Alien, two edits from Aliens
    got = query(eng, "int_named_titles", "qid, title_id, similarity, in_years", "qid, title_id")
    assert got[:3] == [("q1", SOLARIS_1972, 1.0, False), ("q1", SOLARIS_2002, 1.0, True),
                       ("q2", AMELIE, 1.0, False)]
    assert got[3][:2] == ("q3", ALIEN) and len(got) == 4
    assert got[3][2] == pytest.approx(0.99 * JaroWinkler.similarity("alein", "alien"))


def test_request_routes_and_constraint_counts(eng: SearchEngine) -> None:
    given(eng, [("q1", "recommend", [("genre", "drama"), ("year", "the 70s"), ("mood", "tense"),
                                     ("platform", "Netflix")]),
                ("q2", "find_title", [("actor", "Tom Skerritt")]),
                ("q3", "out_of_scope", []),
                ("q4", "similar_to", [("title", "Alien")])])
    assert query(eng, "stg_request_routes", order="qid") == [
        ("q1", "recommend", "constraints", False), ("q2", "find_title", "constraints", True),
        ("q4", "similar_to", "similar", True)]
    # qid, n_hard, n_hard_besides_year, n_soft
    assert query(eng, "int_constraint_counts", order="qid") == [("q1", 2, 1, 1), ("q2", 1, 1, 0),
                                                                    ("q4", 0, 0, 0)]


def test_hard_and_soft_by_title(eng: SearchEngine) -> None:
    given(eng, [("q1", "recommend", [("genre", "science fiction"), ("year", "the 70s")]),
                ("q2", "recommend", [("plot", "a sentient ocean"), ("mood", "cerebral"),
                                     ("plot", "ocean creatures")])])
    got = query(eng, "int_hard_by_title", "title_id, n_met, n_met_besides_year, matched_besides_year",
                "title_id")
    genre = [{"type": "genre", "value": "science fiction", "kg_value": "science fiction", "how": "exact"}]
    assert got == [(ALIEN, 2, 1, genre), (ALIENS, 1, 1, genre), (SOLARIS_1972, 2, 1, genre),
                   (SOLARIS_2002, 1, 1, genre), (DARK, 1, 1, genre)]
    # title_id, n_exact, n_soft_met ('ocean creatures': half its words, enough at soft_min_coverage 0.5)
    assert query(eng, "int_soft_by_title", "title_id, n_exact, n_soft_met", "title_id") == [
        (SOLARIS_1972, 2, 3), (SOLARIS_2002, 1, 2)]


def test_excluded_titles(eng: SearchEngine) -> None:
    """Every title meeting a value the user rules out, matched as a wish of its pool would be: a person
    (a typo too), a year span, a soft value carried verbatim or by half its words, a title by name."""
    given(eng, [("q1", "recommend", [("genre", "science fiction"), ("actor", "sigourney weavr", True),
                                     ("year", "the 70s", True)]),
                ("q2", "recommend", [("genre", "science fiction"), ("mood", "brooding", True),
                                     ("plot", "ocean creatures", True)]),
                ("q3", "similar_to", [("title", "Alien"), ("title", "solaris", True)])])
    got = query(eng, "int_excluded_titles", "qid, title_id, violated", "qid, title_id")
    weaver, seventies = {"type": "actor", "value": "sigourney weavr"}, {"type": "year", "value": "the 70s"}
    ocean = {"type": "plot", "value": "ocean creatures"}
    assert got == [("q1", ALIEN, [weaver, seventies]), ("q1", ALIENS, [weaver]), ("q1", SOLARIS_1972, [seventies]),
                   ("q2", SOLARIS_1972, [ocean]), ("q2", SOLARIS_2002, [ocean]),
                   ("q2", DARK, [{"type": "mood", "value": "brooding"}]),
                   ("q3", SOLARIS_1972, [{"type": "title", "value": "solaris"}]),
                   ("q3", SOLARIS_2002, [{"type": "title", "value": "solaris"}])]


def test_unmet_by_title(eng: SearchEngine) -> None:
    """The wishes a title misses, in query order, and the relaxation ranks of their pools, highest
    first (search/config.yml constraints.relax); exclusions are no wishes; a complete title has no row."""
    given(eng, [("q1", "recommend", [("mood", "tense"), ("genre", "sci-fi"), ("year", "the 70s"),
                                     ("actor", "Tom Hanks", True), ("platform", "Netflix")])])
    relax = dict(eng.con.execute("select pool, relax_rank from relax_order").fetchall())
    got = {t: (u, b, k) for t, u, b, k in query(eng, "int_unmet_by_title",
                                                "title_id, unmet, unmet_besides_year, relax_key")}
    tense, scifi, year = ({"type": t, "value": v} for t, v in (("mood", "tense"), ("genre", "sci-fi"),
                                                                ("year", "the 70s")))
    assert ALIEN not in got  # tense, science fiction, 1979
    assert got[ALIENS] == ([tense, year], [tense], [relax["year"], relax["mood"]])
    assert got[SOLARIS_1972] == ([tense], [tense], [relax["mood"]])
    assert got[DARK] == ([tense, year], [tense], [relax["year"], relax["mood"]])
    # Amélie meets nothing and shares no word: no ranking of this request can list it
    assert set(got) == {ALIENS, SOLARIS_1972, SOLARIS_2002, DARK}
    given(eng, [("q2", "similar_to", [("title", "Alien"), ("mood", "tense"), ("genre", "sci-fi")])])
    got = {t: u for t, u in query(eng, "int_unmet_by_title", "title_id, unmet")}
    assert got[AMELIE] == [tense, scifi]  # similar_to ranks titles by shared facts: all are looked at


def test_rank_constraints(eng: SearchEngine) -> None:
    given(eng, [
        ("q1", "recommend", [("genre", "sci-fi"), ("media_type", "movie"), ("year", "the 70s")]),
        ("q2", "find_title", [("actor", "Tom Skerritt"), ("plot", "a sentient ocean")]),
        ("q3", "recommend", [("actor", "Tom Skerritt"), ("plot", "a sentient ocean")]),
        ("q4", "recommend", [("platform", "Netflix")]),
        ("q5", "out_of_scope", []),
        ("q6", "recommend", [("plot", "ocean creatures"), ("mood", "cerebral")]),
        ("q7", "title_info", [("title", "Alien")]),  # another route
    ])
    got = query(eng, "rank_constraints", "qid, rank, title_id")
    assert got == [
        # the complete matches, then the others by the most binding wish they miss (constraints.relax):
        # the year only (Aliens, Solaris 2002: tied, title order), the genre and the year (Amélie), the
        # media type and the year (Dark)
        ("q1", 1, ALIEN), ("q1", 2, SOLARIS_1972), ("q1", 3, ALIENS), ("q1", 4, SOLARIS_2002),
        ("q1", 5, AMELIE), ("q1", 6, DARK),
        # no complete match: Alien misses the plot (relaxed before people), both Solaris the actor; they
        # carry the plot verbatim and the 2002 one ranks first on BM25 (its soft text is shorter)
        ("q2", 1, ALIEN), ("q2", 2, SOLARIS_2002), ("q2", 3, SOLARIS_1972),
        # recommend too lists the closest titles rather than nothing
        ("q3", 1, ALIEN), ("q3", 2, SOLARIS_2002), ("q3", 3, SOLARIS_1972),
        # q4: a platform only, nothing the KG can check: nothing
        # q6: half of 'ocean creatures' is enough, and only Solaris 1972 is cerebral; the 2002 one misses
        # the mood only
        ("q6", 1, SOLARIS_1972), ("q6", 2, SOLARIS_2002),
    ]
    unmet = query(eng, "rank_constraints", "qid, title_id, unmet", "qid, rank")
    assert unmet[0] == ("q1", ALIEN, []) and unmet[2] == ("q1", ALIENS, [{"type": "year", "value": "the 70s"}])
    matched = query(eng, "rank_constraints", "matched", "qid, rank")[0][0]
    assert matched == [
        {"type": "genre", "value": "sci-fi", "kg_value": "science fiction", "how": "exact"},
        {"type": "media_type", "value": "movie", "kg_value": "movie", "how": "exact"},
        {"type": "year", "value": "the 70s", "kg_value": "1979", "how": "year"},
    ]


def test_rank_similar(eng: SearchEngine) -> None:
    given(eng, [("q1", "similar_to", [("title", "alien")]),
                ("q2", "similar_to", [("title", "Solaris"), ("year", "1972")]),
                ("q3", "similar_to", [("title", "Alien"), ("language", "German")])])
    got = query(eng, "rank_similar", "qid, rank, title_id, score")
    assert got == [
        # genre 3 + actor 1; the rest share science fiction only; Amélie shares nothing; Alien excluded
        ("q1", 1, ALIENS, 4.0), ("q1", 2, SOLARIS_1972, 3.0), ("q1", 3, SOLARIS_2002, 3.0), ("q1", 4, DARK, 3.0),
        # the year picks the 1972 film (excluded) and filters nothing: Solaris 2002 shares genre, setting,
        # plot and theme (3 + 0.5 + 0.5 + 2)
        ("q2", 1, SOLARIS_2002, 6.0), ("q2", 2, ALIEN, 3.0), ("q2", 3, ALIENS, 3.0), ("q2", 4, DARK, 3.0),
        # a language ranks the German title first; the rest follow (similar_to is in `partial`)
        ("q3", 1, DARK, 3.0), ("q3", 2, ALIENS, 4.0), ("q3", 3, SOLARIS_1972, 3.0), ("q3", 4, SOLARIS_2002, 3.0),
    ]


def test_rank_named_title(eng: SearchEngine) -> None:
    given(eng, [("q1", "where_to_watch", [("title", "solaris"), ("year", "2002")]),
                ("q2", "title_info", [("actor", "George Clooney"), ("title", "SOLARIS")]),
                ("q3", "play", [("title", "solaris")]),
                ("q4", "recommend", [("genre", "drama")])])
    got = query(eng, "rank_named_title", "qid, rank, title_id, linked")
    assert got == [
        ("q1", 1, SOLARIS_2002, True), ("q1", 2, SOLARIS_1972, False),
        ("q2", 1, SOLARIS_2002, True), ("q2", 2, SOLARIS_1972, False),
        # nothing to choose between the two: a disambiguation list, not a link
        ("q3", 1, SOLARIS_1972, False), ("q3", 2, SOLARIS_2002, False),
    ]


def test_rank_raw_query(eng: SearchEngine) -> None:
    eng.set_requests([], [{"qid": "q1", "query": "that film about a SENTIENT ocean"},
                          {"qid": "q2", "query": "the of and"}])
    got = query(eng, "rank_raw_query", "qid, rank, title_id")
    # the 2002 film's shorter text ranks first; stopwords only: nothing for q2
    assert got == [("q1", 1, SOLARIS_2002), ("q1", 2, SOLARIS_1972)]


def test_sqlfluff_lint_passes() -> None:
    proc = subprocess.run([sys.executable, "-m", "sqlfluff", "lint", "sql/search", "sql/models", "sql/retrieval"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def test_exclusions_are_hard_filters_in_every_ranking(eng: SearchEngine) -> None:
    given(eng, [
        # recommend: no sci-fi with Sigourney Weaver, nothing from the 70s
        ("q1", "recommend", [("genre", "science fiction"), ("actor", "Sigourney Weaver", True),
                             ("year", "the 70s", True)]),
        # a remake told apart by ruling out one year
        ("q2", "where_to_watch", [("title", "Solaris"), ("year", "2002", True)]),
        # like Alien, but not with Sigourney Weaver: Aliens goes
        ("q3", "similar_to", [("title", "Alien"), ("actor", "Sigourney Weaver", True)]),
        # find_title: not a series
        ("q4", "find_title", [("genre", "science fiction"), ("media_type", "tv show", True)]),
    ])
    ranked = {}
    for name in ("rank_constraints", "rank_named_title", "rank_similar"):
        for qid, title_id in query(eng, name, "qid, title_id", "qid, rank"):
            ranked.setdefault(qid, []).append(title_id)
    assert ranked["q1"] == [SOLARIS_2002, DARK]
    assert ranked["q2"] == [SOLARIS_1972]
    assert ranked["q3"] == [SOLARIS_1972, SOLARIS_2002, DARK]
    assert ranked["q4"] == [ALIEN, ALIENS, SOLARIS_1972, SOLARIS_2002]
    linked = query(eng, "rank_named_title", "linked")
    assert linked == [(True,)]  # one entry left: linked
