"""One tiny given/expect fixture per scoring SQL file (sql/scoring, sql/checks, sql/models/*/scoring;
computed by hand), plus sqlfluff lint of the whole SQL project.

The labels below are fixture names, not the taxonomy: the SQL reads whatever `labels` holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from eval import score
from schemas.sql_project import LAYERS, SQL_ROOT

INTENTS = ("find", "play", "chat")        # 'chat' never occurs: zero support, never predicted
ENTITY_TYPES = ("title", "genre", "plot")  # 'mood' below is outside: scored for no class
EXCLUDABLE = ("genre", "plot")             # as in the taxonomy, a title cannot be ruled out

# (id, source, field, value, status)
GIVEN = [
    # q1: right intent, title right up to case/punctuation/article -> exact
    ("q1", "gold", "intent", "play", None),
    ("q1", "gold", "title", "The Matrix", None),
    ("q1", "pred", "intent", "play", "ok"),
    ("q1", "pred", "title", "matrix!", "ok"),
    # q2: wrong intent, genre right (predicted twice), plot a near miss (token F1 6/7)
    ("q2", "gold", "intent", "find", None),
    ("q2", "gold", "plot", "a heist gone wrong", None),
    ("q2", "gold", "genre", "Noir", None),
    ("q2", "pred", "intent", "play", "ok"),
    ("q2", "pred", "plot", "heist gone wrong badly", "ok"),
    ("q2", "pred", "genre", "noir", "ok"),
    ("q2", "pred", "genre", "noir", "ok"),
    # q3: unparseable output
    ("q3", "gold", "intent", "find", None),
    ("q3", "gold", "title", "Amélie", None),
    ("q3", "pred", "intent", None, "invalid_json"),
    # q4: a label and an entity type outside the labels
    ("q4", "gold", "intent", "find", None),
    ("q4", "pred", "intent", "zzz", "schema_violation"),
    ("q4", "pred", "mood", "dark", "schema_violation"),
]

EXPECT: dict[str, list[tuple]] = {
    # label, precision, recall, f1, support, tp, fp, fn
    "per_class_intent": [
        ("find", 0, 0, 0, 3, 0, 0, 3),
        ("play", 1 / 2, 1, 2 / 3, 1, 1, 1, 0),
        ("chat", 0, 0, 0, 0, 0, 0, 0),
    ],
    # average, precision, recall, f1, support, n_classes, classes_left_out
    # macro: 'chat' has no gold and no prediction, so only find and play are averaged
    "averages_intent": [
        ("macro avg", 1 / 4, 1 / 2, 1 / 3, 4, 2, ["chat"]),
        ("micro avg", 1 / 2, 1 / 4, 1 / 3, 4, 3, []),
        ("weighted avg", 1 / 8, 1 / 4, 1 / 6, 4, 3, []),
        ("taxonomy macro avg", 1 / 6, 1 / 3, 2 / 9, 4, 3, []),
    ],
    # n_queries, n_correct, accuracy
    "accuracy_intent": [(4, 1, 1 / 4)],
    # gold, pred, n: taxonomy x (taxonomy + observed extras)
    "confusion_intent": [
        (g, p, {("find", "play"): 1, ("find", "(other)"): 1, ("find", "(none)"): 1, ("play", "play"): 1}
         .get((g, p), 0))
        for g in INTENTS for p in (*INTENTS, "(other)", "(none)")
    ],
    "per_class_entity": [
        ("title", 1, 1 / 2, 2 / 3, 2, 1, 0, 1),
        ("genre", 1, 1, 1, 1, 1, 0, 0),
        ("plot", 0, 0, 0, 1, 0, 1, 1),
    ],
    "averages_entity": [
        ("macro avg", 2 / 3, 1 / 2, 5 / 9, 4, 3, []),
        ("micro avg", 2 / 3, 1 / 2, 4 / 7, 4, 3, []),
        ("weighted avg", 3 / 4, 1 / 2, 7 / 12, 4, 3, []),
        ("taxonomy macro avg", 2 / 3, 1 / 2, 5 / 9, 4, 3, []),
    ],
    # label_group, average, precision, recall, f1, support, n_classes, classes_left_out ('title' is a name)
    "averages_entity_group": [
        ("names", "macro avg", 1, 1 / 2, 2 / 3, 2, 1, []),
        ("names", "micro avg", 1, 1 / 2, 2 / 3, 2, 1, []),
        ("closed_vocabulary", "macro avg", 1 / 2, 1 / 2, 1 / 2, 2, 2, []),
        ("closed_vocabulary", "micro avg", 1 / 2, 1 / 2, 1 / 2, 2, 2, []),
    ],
    # label, precision, recall, f1, support, tp (matched pairs), fp, fn: q2's plot is a near miss
    "relaxed_entity": [
        ("title", 1, 1 / 2, 2 / 3, 2, 1, 0, 1),
        ("genre", 1, 1, 1, 1, 1, 0, 0),
        ("plot", 1, 1, 1, 1, 1, 0, 0),
    ],
    "averages_relaxed_entity": [
        ("macro avg", 1, 5 / 6, 8 / 9, 4, 3, []),
        ("micro avg", 1, 3 / 4, 6 / 7, 4, 3, []),
        ("weighted avg", 1, 3 / 4, 5 / 6, 4, 3, []),
        ("taxonomy macro avg", 1, 5 / 6, 8 / 9, 4, 3, []),
    ],
    # n_queries, n_exact, exact_match
    "exact_match": [(4, 1, 1 / 4)],
    # n_queries, n_valid, schema_valid_rate
    "schema_valid_rate": [(4, 2, 1 / 2)],
    # status, n_queries, share_of_queries
    "status_counts": [("ok", 2, 1 / 2), ("invalid_json", 1, 1 / 4), ("schema_violation", 1, 1 / 4)],
    # id, status, gold_intent, pred_intent, gold_entities, pred_entities, missed, spurious, n_mistakes
    "worst_errors": [
        ("q2", "ok", "find", "play", "genre: Noir; plot: a heist gone wrong",
         "genre: noir; plot: heist gone wrong badly", "plot: a heist gone wrong",
         "plot: heist gone wrong badly", 3),
        ("q3", "invalid_json", "find", None, "title: Amélie", None, "title: Amélie", None, 2),
        ("q4", "schema_violation", "find", "zzz", None, "mood: dark", None, "mood: dark", 2),
    ],
    # ---- models: rows sorted (views have no order) -------------------------------------------------
    # id, status, is_valid, gold_intent, pred_intent
    "models/staging/stg_queries": [
        ("q1", "ok", True, "play", "play"),
        ("q2", "ok", True, "find", "play"),
        ("q3", "invalid_json", False, "find", None),
        ("q4", "schema_violation", False, "find", "zzz"),
    ],
    # id, source, entity_type, entity_value (normalized; the duplicate 'noir' once), is_excluded,
    # shown (first spelling)
    "models/staging/stg_entities": [
        ("q1", "gold", "title", "matrix", False, "title: The Matrix"),
        ("q1", "pred", "title", "matrix", False, "title: matrix!"),
        ("q2", "gold", "genre", "noir", False, "genre: Noir"),
        ("q2", "gold", "plot", "heist gone wrong", False, "plot: a heist gone wrong"),
        ("q2", "pred", "genre", "noir", False, "genre: noir"),
        ("q2", "pred", "plot", "heist gone wrong badly", False, "plot: heist gone wrong badly"),
        ("q3", "gold", "title", "amélie", False, "title: Amélie"),
        ("q4", "pred", "mood", "dark", False, "mood: dark"),
    ],
    # id, entity_type, gold_shown, pred_shown, in_gold, in_pred, is_excluded
    "models/intermediate/int_entity_matches": [
        ("q1", "title", "title: The Matrix", "title: matrix!", True, True, False),
        ("q2", "genre", "genre: Noir", "genre: noir", True, True, False),
        ("q2", "plot", "plot: a heist gone wrong", None, True, False, False),
        ("q2", "plot", None, "plot: heist gone wrong badly", False, True, False),
        ("q3", "title", "title: Amélie", None, True, False, False),
        ("q4", "mood", None, "mood: dark", False, True, False),
    ],
    # id, entity_type, n_matched (token F1 of q2's plots: 2 * 3 / (3 + 4) = 6/7 >= 0.5)
    "models/intermediate/int_relaxed_matches": [("q1", "title", 1), ("q2", "genre", 1), ("q2", "plot", 1)],
    # id, kind, label, tp, fp, fn per query: q2's duplicate 'noir' counts once; q3's unparseable output
    # misses its intent and title; q4's outside labels ('zzz', 'mood') are false positives of their own
    "models/intermediate/int_query_class_counts": [
        ("q1", "entity", "title", 1, 0, 0), ("q1", "intent", "play", 1, 0, 0),
        ("q2", "entity", "genre", 1, 0, 0), ("q2", "entity", "plot", 0, 1, 1),
        ("q2", "intent", "find", 0, 0, 1), ("q2", "intent", "play", 0, 1, 0),
        ("q3", "entity", "title", 0, 0, 1), ("q3", "intent", "find", 0, 0, 1),
        ("q4", "entity", "mood", 0, 1, 0), ("q4", "intent", "find", 0, 0, 1), ("q4", "intent", "zzz", 0, 1, 0),
    ],
    # kind, label, tp, fp, fn: labels outside the taxonomy ('zzz', 'mood') are counted here
    "models/intermediate/int_class_counts": [
        ("entity", "genre", 1, 0, 0), ("entity", "mood", 0, 1, 0), ("entity", "plot", 0, 1, 1),
        ("entity", "title", 1, 0, 1),
        ("intent", "find", 0, 0, 3), ("intent", "play", 1, 1, 0), ("intent", "zzz", 0, 1, 0),
        ("relaxed_entity", "genre", 1, 0, 0), ("relaxed_entity", "mood", 0, 1, 0),
        ("relaxed_entity", "plot", 1, 0, 0), ("relaxed_entity", "title", 1, 0, 1),
    ],
    # kind, label_order, label_group, label, precision, recall, f1, support, tp, fp, fn, is_present
    "models/intermediate/int_class_scores": [
        ("entity", 0, "names", "title", 1, 1 / 2, 2 / 3, 2, 1, 0, 1, True),
        ("entity", 1, "closed_vocabulary", "genre", 1, 1, 1, 1, 1, 0, 0, True),
        ("entity", 2, "closed_vocabulary", "plot", 0, 0, 0, 1, 0, 1, 1, True),
        # no exclusion in the fixture: the excludable types score zeros and are absent
        ("exclusion", 1, None, "genre", 0, 0, 0, 0, 0, 0, 0, False),
        ("exclusion", 2, None, "plot", 0, 0, 0, 0, 0, 0, 0, False),
        ("intent", 0, None, "find", 0, 0, 0, 3, 0, 0, 3, True),
        ("intent", 1, None, "play", 1 / 2, 1, 2 / 3, 1, 1, 1, 0, True),
        ("intent", 2, None, "chat", 0, 0, 0, 0, 0, 0, 0, False),
        ("relaxed_entity", 0, "names", "title", 1, 1 / 2, 2 / 3, 2, 1, 0, 1, True),
        ("relaxed_entity", 1, "closed_vocabulary", "genre", 1, 1, 1, 1, 1, 0, 0, True),
        ("relaxed_entity", 2, "closed_vocabulary", "plot", 1, 1, 1, 1, 1, 0, 0, True),
    ],
    # kind, label_group, group_order, average_order, average, precision, recall, f1, support, n_classes,
    # classes_left_out: the intents (entities: averages_entity*.sql); 'chat' is absent
    "models/intermediate/int_class_averages": [
        ("intent", "(all)", 0, 1, "macro avg", 1 / 4, 1 / 2, 1 / 3, 4, 2, ["chat"]),
        ("intent", "(all)", 0, 2, "micro avg", 1 / 2, 1 / 4, 1 / 3, 4, 3, []),
        ("intent", "(all)", 0, 3, "weighted avg", 1 / 8, 1 / 4, 1 / 6, 4, 3, []),
        ("intent", "(all)", 0, 4, "taxonomy macro avg", 1 / 6, 1 / 3, 2 / 9, 4, 3, []),
    ],
    # id, status, is_valid, gold_intent, pred_intent, is_correct, n_missed, n_spurious, is_exact, n_mistakes
    "models/intermediate/int_query_outcomes": [
        ("q1", "ok", True, "play", "play", True, 0, 0, True, 0),
        ("q2", "ok", True, "find", "play", False, 1, 1, False, 3),
        ("q3", "invalid_json", False, "find", None, False, 1, 0, False, 2),
        ("q4", "schema_violation", False, "find", "zzz", False, 0, 1, False, 2),
    ],
    # n_queries, n_correct, n_exact, n_valid, accuracy, exact_match, schema_valid_rate
    "models/intermediate/int_query_rates": [(4, 1, 1, 2, 1 / 4, 1 / 4, 1 / 2)],
    # matching, support, tp, fp, fn, precision, recall, f1: 'title' is the fixture's one name type, so
    # both rows agree (q1's title found, q3's missed); test_score.py checks a name found as another type
    "names_any_type": [
        ("same type", 2, 1, 0, 1, 1, 1 / 2, 2 / 3),
        ("any names type", 2, 1, 0, 1, 1, 1 / 2, 2 / 3),
    ],
    # label, precision, recall, f1, support, tp, fp, fn: no exclusions here (POLARITY has them)
    "per_class_exclusion": [("genre", 0, 0, 0, 0, 0, 0, 0), ("plot", 0, 0, 0, 0, 0, 0, 0)],
    "averages_exclusion": [
        ("macro avg", 0, 0, 0, 0, 0, ["genre", "plot"]),
        ("micro avg", 0, 0, 0, 0, 2, []),
        ("weighted avg", 0, 0, 0, 0, 2, []),
        ("taxonomy macro avg", 0, 0, 0, 0, 2, []),
    ],
    # gold_polarity, pred_polarity, n: q1's title and q2's genre found, both wishes read as wishes
    "confusion_polarity": [("wish", "wish", 2), ("wish", "exclusion", 0), ("exclusion", "wish", 0),
                           ("exclusion", "exclusion", 0)],
    "checks/conflicting_intents": [],
    "checks/malformed_rows": [],
}

# Polarity: (id, source, field, value, status, exclude). p1: an exclusion found, a wish read as an
# exclusion; p2: an exclusion read as a wish; p3: an exclusion predicted both ways (kept) and a spurious
# one; p4: a title (not excludable) read as an exclusion, a flip that no exclusion class scores.
POLARITY = [
    ("p1", "gold", "intent", "find", None, None), ("p1", "pred", "intent", "find", "ok", None),
    ("p1", "gold", "genre", "Horror", None, True), ("p1", "gold", "genre", "comedy", None, False),
    ("p1", "pred", "genre", "horror", "ok", True), ("p1", "pred", "genre", "comedy", "ok", True),
    ("p2", "gold", "intent", "find", None, None), ("p2", "pred", "intent", "find", "ok", None),
    ("p2", "gold", "plot", "a shark", None, True), ("p2", "gold", "title", "Jaws", None, False),
    ("p2", "pred", "plot", "shark", "ok", False), ("p2", "pred", "title", "jaws", "ok", False),
    ("p3", "gold", "intent", "find", None, None), ("p3", "pred", "intent", "find", "ok", None),
    ("p3", "gold", "genre", "drama", None, True),
    ("p3", "pred", "genre", "drama", "ok", True), ("p3", "pred", "genre", "drama", "ok", False),
    ("p3", "pred", "plot", "zombies", "ok", True),
    ("p4", "gold", "intent", "find", None, None), ("p4", "pred", "intent", "find", "ok", None),
    ("p4", "gold", "title", "Alien", None, False), ("p4", "pred", "title", "Alien", "ok", True),
]
POLARITY_EXPECT: dict[str, list[tuple]] = {
    # genre: horror found (p1) and drama (p3), comedy wrongly excluded (p1); plot: shark missed as an
    # exclusion (p2), zombies excluded for nothing (p3); p4's excluded title is scored for no class
    "per_class_exclusion": [("genre", 2 / 3, 1, 4 / 5, 2, 2, 1, 0), ("plot", 0, 0, 0, 1, 0, 1, 1)],
    "averages_exclusion": [
        ("macro avg", 1 / 3, 1 / 2, 2 / 5, 3, 2, []),
        ("micro avg", 1 / 2, 2 / 3, 4 / 7, 3, 2, []),
        ("weighted avg", 4 / 9, 2 / 3, 8 / 15, 3, 2, []),
        ("taxonomy macro avg", 1 / 3, 1 / 2, 2 / 5, 3, 2, []),
    ],
    "confusion_polarity": [("wish", "wish", 1), ("wish", "exclusion", 2), ("exclusion", "wish", 1),
                           ("exclusion", "exclusion", 2)],
    # strict entity scores need the polarity too: only horror, jaws and drama match
    "per_class_entity": [("title", 1 / 2, 1 / 2, 1 / 2, 2, 1, 1, 1), ("genre", 1 / 2, 2 / 3, 4 / 7, 3, 2, 2, 1),
                         ("plot", 0, 0, 0, 1, 0, 2, 1)],
    # relaxed matching pairs only values of one polarity: p2's shark and p4's alien stay unmatched
    "models/intermediate/int_relaxed_matches": [("p1", "genre", 1), ("p2", "title", 1), ("p3", "genre", 1)],
    "models/intermediate/int_entity_matches": [
        ("p1", "genre", "genre: comedy", None, True, False, False),
        ("p1", "genre", "genre: not Horror", "genre: not horror", True, True, True),
        ("p1", "genre", None, "genre: not comedy", False, True, True),
        ("p2", "plot", "plot: not a shark", None, True, False, True),
        ("p2", "plot", None, "plot: shark", False, True, False),
        ("p2", "title", "title: Jaws", "title: jaws", True, True, False),
        ("p3", "genre", "genre: not drama", "genre: not drama", True, True, True),
        ("p3", "genre", None, "genre: drama", False, True, False),
        ("p3", "plot", None, "plot: not zombies", False, True, True),
        ("p4", "title", "title: Alien", None, True, False, False),
        ("p4", "title", None, "title: not Alien", False, True, True),
    ],
}

# Checks get a second fixture that must trip them.
BAD = {
    "checks/conflicting_intents": (
        [("q9", "gold", "intent", "find", None), ("q9", "pred", "intent", "play", "ok"),
         ("q9", "pred", "intent", "find", "ok"), ("q9", "pred", "intent", "find", "ok")],
        [("q9", "pred", 2, "find, play")],
    ),
    "checks/malformed_rows": (
        [("q9", "gold", "intent", "find", None), ("q9", "model", "intent", "play", "ok"),
         (None, "gold", "title", "x", None)],
        [("q9", "model", "intent", "play"), (None, "gold", "title", "x")],
    ),
}


def connection(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    """GIVEN as `predictions`, the fixture labels, then the macros and every model view, as eval.score.
    A row's sixth element is its `exclude`; without one, an entity row is a wish (false)."""
    con = duckdb.connect()
    score.load_macros(con)
    con.execute("create table predictions (id varchar, split varchar, source varchar, field varchar, "
                "value varchar, status varchar, exclude boolean)")
    con.executemany("insert into predictions values (?, 'test', ?, ?, ?, ?, ?)",
                    [r if len(r) == 6 else (*r, None if r[2] == "intent" else False) for r in rows])
    con.execute("create table labels (kind varchar, label varchar, label_order integer, label_group varchar)")
    con.executemany("insert into labels values (?, ?, ?, ?)",
                    [("intent", n, i, None) for i, n in enumerate(INTENTS)]
                    + [("entity", n, i, "names" if n == "title" else "closed_vocabulary")
                       for i, n in enumerate(ENTITY_TYPES)]
                    + [("exclusion", n, i, None) for i, n in enumerate(ENTITY_TYPES) if n in EXCLUDABLE])
    score.load_models(con)
    return con


# A model's fixture reads its view (sorted; a filter where the full view is long)
MODEL_FILTER = {"int_class_averages": "where kind = 'intent'"}


def run(name: str, rows: list[tuple]) -> list[tuple]:
    con = connection(rows)
    if name.startswith("models/"):
        view = Path(name).name
        return con.sql(f"select * from {view} {MODEL_FILTER.get(view, '')} order by all").fetchall()
    return con.sql(sql_path(name).read_text(encoding="utf-8")).fetchall()


def sql_path(name: str) -> Path:
    """A fixture name's file: `checks/x` in sql/checks, any other in sql/scoring."""
    return SQL_ROOT / f"{name}.sql" if name.startswith("checks/") else score.SQL_DIR / f"{name}.sql"


def fixture_name(path: Path) -> str:
    """`models/<layer>/<model>` for a model (its domain folder left out), `checks/x`, or the metric's stem."""
    if path.is_relative_to(SQL_ROOT / "models"):
        return f"models/{path.parent.parent.name}/{path.stem}"
    return path.relative_to(SQL_ROOT).with_suffix("").as_posix().removeprefix("scoring/")


def same(got: list[tuple], want: list[tuple]) -> None:
    assert len(got) == len(want), got
    for g, w in zip(got, want, strict=True):
        assert len(g) == len(w), g
        for a, b in zip(g, w, strict=True):
            assert a == pytest.approx(b, abs=1e-12) if isinstance(b, float) else a == b, (g, w)


def test_every_sql_file_has_a_fixture() -> None:
    files = {fixture_name(p)
             for p in [*score.SQL_DIR.glob("*.sql"), *score.CHECK_DIR.glob("*.sql"), *score.model_files()]}
    assert files == set(EXPECT), f"fixtures missing for {sorted(files - set(EXPECT))}"
    assert len(files) == 29


def test_models_are_views_named_as_their_files_in_layer_order() -> None:
    """Each model file creates the view its file names; staging reads only the two input relations,
    intermediate reads staging or intermediate; metric files read models, never `predictions`."""
    models = score.model_files()
    assert [p.parent.parent.name for p in models] == sorted((p.parent.parent.name for p in models),
                                                            key=LAYERS.index)
    for path in models:
        text = path.read_text(encoding="utf-8")
        assert f"create or replace view {path.stem} as" in text, path
        if path.parent.parent.name == "staging":
            assert "stg_" not in text.replace(path.stem, "") and "int_" not in text, path
        else:
            assert "from predictions" not in text, path
    for path in score.SQL_DIR.glob("*.sql"):
        code = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("--")]
        assert "predictions" not in "\n".join(code), f"{path.name} should read the models, not `predictions`"
        assert len(code) <= 80, f"{path.name}: {len(code)} lines; move shared steps into sql/models"


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_fixture(name: str) -> None:
    same(run(name, GIVEN), EXPECT[name])


@pytest.mark.parametrize("name", sorted(POLARITY_EXPECT))
def test_polarity_fixture(name: str) -> None:
    """Polarity is part of an entity: strict and relaxed matches need it, exclusions score apart."""
    same(run(name, POLARITY), POLARITY_EXPECT[name])


@pytest.mark.parametrize("name", sorted(BAD))
def test_check_trips(name: str) -> None:
    rows, want = BAD[name]
    same(run(name, rows), want)


def test_confusion_has_extra_gold_rows_only_when_seen() -> None:
    rows = [("a", "gold", "intent", "nope", None), ("a", "pred", "intent", "find", "ok"),
            ("b", "pred", "intent", "play", "ok")]
    cells = {(g, p): n for g, p, n in run("confusion_intent", rows)}
    assert cells[("(other)", "find")] == 1 and cells[("(none)", "play")] == 1
    assert {g for g, _ in cells} == {*INTENTS, "(other)", "(none)"}
    assert {p for _, p in cells} == set(INTENTS)


def test_relaxed_matching_is_one_to_one() -> None:
    """One prediction overlapping two gold spans matches one (the higher token F1), not both; a second
    prediction then takes the other; ties go to the alphabetically first gold value."""
    rows = [("a", "gold", "intent", "find", None), ("a", "pred", "intent", "find", "ok"),
            ("a", "gold", "plot", "loyalty", None), ("a", "gold", "plot", "survival", None),
            ("a", "pred", "plot", "loyalty and survival", "ok"),
            ("b", "gold", "intent", "find", None), ("b", "pred", "intent", "find", "ok"),
            ("b", "gold", "plot", "heist", None), ("b", "gold", "plot", "heist gone wrong", None),
            ("b", "pred", "plot", "heist gone wrong", "ok"), ("b", "pred", "plot", "a heist", "ok")]
    # a: token F1 0.5 with each gold span, one match; b: the exact pair, then 'heist' (from 'a heist')
    assert run("models/intermediate/int_relaxed_matches", rows) == [("a", "plot", 1), ("b", "plot", 2)]
    plot = next(r for r in run("relaxed_entity", rows) if r[0] == "plot")
    assert plot[1:] == (1.0, 3 / 4, 6 / 7, 4, 3, 0, 1)  # precision 3/3, recall 3/4


def test_leaderboard_fixture() -> None:
    """compare/leaderboard.sql on a hand-made `metrics`: one column per split, ranked by mean exact match."""
    def row(run: str, system: str, split: str, f1: float, em: float, n: int, r: int | None) -> tuple:
        meta = {"run_dir": run, "system": system, "split": split, "recipe": "x.yml", "base_model": "m",
                "lora_r": r, "data_manifest": "abc"}
        avg = {"macro_avg": {"f1": f1}}
        return json.dumps(meta), json.dumps(avg), json.dumps({"macro_avg": {"f1": f1 / 2}}), em, n

    con = duckdb.connect()
    con.execute("create table metrics (meta json, intent json, entities json, exact_match double, "
                "n_queries bigint)")
    con.executemany("insert into metrics values (?, ?, ?, ?, ?)", [
        row("runs/a", "finetuned", "test", 0.9, 0.8, 150, 8),
        row("runs/a", "finetuned", "heldout", 0.6, 0.2, 150, 8),
        row("runs/b", "finetuned", "test", 0.8, 0.7, 40, 16),
        row("runs/b", "finetuned", "heldout", 0.7, 0.5, 40, 16),
    ])
    rel = con.sql((SQL_ROOT / "compare/leaderboard.sql").read_text(encoding="utf-8"))
    got = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    assert [g["run"] for g in got] == ["runs/b", "runs/a"]  # mean exact match 0.6 > 0.5
    assert got[0]["test_intent_f1"] == 0.8 and got[0]["heldout_entity_f1"] == 0.35
    assert got[1]["lora_r"] == 8 and got[1]["test_n"] == 150
    assert got[0]["mean_exact_match"] == pytest.approx(0.6)
    assert {"heldout_exact_match", "test_exact_match", "base_model", "data_manifest", "recipe"} <= set(got[0])


def test_sqlfluff_lint_passes() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "sqlfluff", "lint", "--dialect", "duckdb", "sql"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def sql_lines(path: Path) -> list[str]:
    """The lines that carry logic: no comments, blanks or lone brackets, white space folded, lowercase."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = " ".join(line.split("--", 1)[0].split()).lower()
        if line.strip("(),;"):
            out.append(line)
    return out


def test_no_two_sql_files_repeat_six_lines() -> None:
    """Shared steps live once, in a model or macro (sql/models, sql/macros): no run of six logic lines
    stands in two SQL files of the project (the `duplicates` tool's rule, identical lines only)."""
    root = SQL_ROOT
    seen: dict[tuple[str, ...], Path] = {}
    repeats = set()
    files = sorted(root.rglob("*.sql"))
    for path in files:
        lines = sql_lines(path)
        for start in range(len(lines) - 5):
            run = tuple(lines[start:start + 6])
            first = seen.setdefault(run, path)
            if first != path:
                repeats.add((first.relative_to(root).as_posix(), path.relative_to(root).as_posix()))
    assert len(files) > 40
    assert not repeats, sorted(repeats)


def test_audit_checks_read_the_view_of_the_table_they_test() -> None:
    audit = SQL_ROOT / "audit"
    for view, files in {"int_kg_class_coverage": ("check_underrepresented_classes", "representativeness_classes"),
                        "int_template_concentration": ("check_template_concentration",
                                                       "diversity_template_concentration"),
                        "int_label_balance": ("check_intent_below_target", "balance_intent_vs_target",
                                              "check_entity_type_below_target", "balance_entity_type_vs_target")
                        }.items():
        assert (SQL_ROOT / "models" / "intermediate" / "audit" / f"{view}.sql").is_file()
        for name in files:
            assert f"from {view}" in (audit / f"{name}.sql").read_text(), name
