"""One tiny given/expect fixture per SQL file in eval/sql (computed by hand), plus sqlfluff lint.

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

INTENTS = ("find", "play", "chat")        # 'chat' never occurs: zero support, never predicted
ENTITY_TYPES = ("title", "genre", "plot")  # 'mood' below is outside: scored for no class

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
    # label_group, n_types, n_classes, macro P/R/F1, micro P/R/F1, support ('title' is a name type)
    "averages_entity_group": [
        ("names", 1, 1, 1, 1 / 2, 2 / 3, 1, 1 / 2, 2 / 3, 2),
        ("closed_vocabulary", 2, 2, 1 / 2, 1 / 2, 1 / 2, 1 / 2, 1 / 2, 1 / 2, 2),
    ],
    # label, precision, recall, f1, support, n_predicted, n_matched, n_classes, classes_left_out
    "relaxed_entity": [
        ("title", 1, 1 / 2, 2 / 3, 2, 1, 1, None, None),
        ("genre", 1, 1, 1, 1, 1, 1, None, None),
        ("plot", 1, 1, 1, 1, 1, 1, None, None),
        ("macro avg", 1, 5 / 6, 8 / 9, 4, 3, 3, 3, []),
        ("micro avg", 1, 3 / 4, 6 / 7, 4, 3, 3, 3, []),
        ("weighted avg", 1, 3 / 4, 5 / 6, 4, 3, 3, 3, []),
        ("taxonomy macro avg", 1, 5 / 6, 8 / 9, 4, 3, 3, 3, []),
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
    "checks/conflicting_intents": [],
    "checks/malformed_rows": [],
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
    con = duckdb.connect()
    score.load_macros(con)
    con.execute("create table predictions (id varchar, split varchar, source varchar, field varchar, "
                "value varchar, status varchar)")
    con.executemany("insert into predictions values (?, 'test', ?, ?, ?, ?)", rows)
    con.execute("create table labels (kind varchar, label varchar, label_order integer, label_group varchar)")
    con.executemany("insert into labels values (?, ?, ?, ?)",
                    [("intent", n, i, None) for i, n in enumerate(INTENTS)]
                    + [("entity", n, i, "names" if n == "title" else "closed_vocabulary")
                       for i, n in enumerate(ENTITY_TYPES)])
    return con


def run(name: str, rows: list[tuple]) -> list[tuple]:
    con = connection(rows)
    return con.sql((score.SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")).fetchall()


def same(got: list[tuple], want: list[tuple]) -> None:
    assert len(got) == len(want), got
    for g, w in zip(got, want, strict=True):
        assert len(g) == len(w), g
        for a, b in zip(g, w, strict=True):
            assert a == pytest.approx(b, abs=1e-12) if isinstance(b, float) else a == b, (g, w)


def test_every_sql_file_has_a_fixture() -> None:
    files = {str(p.relative_to(score.SQL_DIR).with_suffix(""))
             for p in [*score.SQL_DIR.glob("*.sql"), *score.CHECK_DIR.glob("*.sql")]}
    assert files == set(EXPECT), f"fixtures missing for {sorted(files - set(EXPECT))}"
    assert len(files) == 14


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_fixture(name: str) -> None:
    same(run(name, GIVEN), EXPECT[name])


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
    got = {r[0]: r for r in run("relaxed_entity", rows)}
    # a: token F1 0.5 with each gold span, one match: precision 1/1, recall 1/2
    # b: 'heist gone wrong' pairs exactly, then 'heist' (normalized 'a heist') takes 'heist'
    assert got["plot"][4:7] == (4, 3, 3)  # support, n_predicted, n_matched
    assert got["plot"][1:3] == (1.0, 3 / 4)


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
    rel = con.sql((score.SQL_DIR / "compare/leaderboard.sql").read_text(encoding="utf-8"))
    got = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    assert [g["run"] for g in got] == ["runs/b", "runs/a"]  # mean exact match 0.6 > 0.5
    assert got[0]["test_intent_f1"] == 0.8 and got[0]["heldout_entity_f1"] == 0.35
    assert got[1]["lora_r"] == 8 and got[1]["test_n"] == 150
    assert got[0]["mean_exact_match"] == pytest.approx(0.6)
    assert {"heldout_exact_match", "test_exact_match", "base_model", "data_manifest", "recipe"} <= set(got[0])


def test_sqlfluff_lint_passes() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "sqlfluff", "lint", "--dialect", "duckdb", "eval/sql"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
