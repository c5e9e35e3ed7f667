"""eval/score.py against references: scikit-learn for intents, an independent set-based Python version for
entities, on random and adversarial long-form predictions."""

from __future__ import annotations

import json
import random
import re
import string
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fabricate import (
    UNSEEN_INTENT,
    UNSEEN_TYPE,
    make_records,
    noisy_rows,
    polarity_noise,
    with_exclusions,
    write_rows,
)
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
)

from eval import score
from eval.predictions import long_rows
from schemas import load_taxonomy

TAX = load_taxonomy()
NONE = "__no_prediction__"  # sklearn cannot sort None among strings; a sentinel outside the taxonomy
TOL = 1e-9
SEEDS = (0, 1, 2, 3, 4)


# ---------------------------------------------------------------- independent reference implementation
def py_normalize(value: str) -> str:
    """Same rule as sql/macros/text.sql's normalize_value, written with Python's own tools."""
    value = value.lower()
    value = "".join(ch for ch in value if ch not in string.punctuation and ch not in "‘’“”–—…")
    value = " ".join(value.split())
    for article in ("a ", "an ", "the "):
        if value.startswith(article):
            return value[len(article):]
    return value


def intents_by_query(rows: list[dict]) -> tuple[list[str], list[str], list[str]]:
    ids = sorted({r["id"] for r in rows})
    gold = {r["id"]: r["value"] for r in rows if r["source"] == "gold" and r["field"] == "intent"}
    pred = {r["id"]: r["value"] for r in rows if r["source"] == "pred" and r["field"] == "intent"}
    return ids, [gold.get(i) or NONE for i in ids], [pred.get(i) or NONE for i in ids]


def entity_sets(rows: list[dict]) -> tuple[list[str], dict[str, set], dict[str, set]]:
    """Per query and side, the set of (type, normalized value, excluded): the polarity is part of it."""
    ids = sorted({r["id"] for r in rows})
    sets: dict[str, dict[str, set]] = {"gold": defaultdict(set), "pred": defaultdict(set)}
    for r in rows:
        if r["field"] != "intent" and r["value"] is not None:
            sets[r["source"]][r["id"]].add((r["field"], py_normalize(r["value"]), bool(r.get("exclude"))))
    return ids, sets["gold"], sets["pred"]


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    return {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0, "support": tp + fn}


def averages(per_class: dict[str, dict], tp: int, fp: int, fn: int,
             present: set[str]) -> dict[str, dict]:
    """macro over the classes in `present` (with gold or predictions), taxonomy macro over all."""
    support = sum(c["support"] for c in per_class.values())
    keys = ("precision", "recall", "f1")
    there = [c for lb, c in per_class.items() if lb in present]
    macro = {k: sum(c[k] for c in there) / len(there) if there else 0.0 for k in keys}
    everything = {k: sum(c[k] for c in per_class.values()) / len(per_class) for k in keys}
    weighted = {k: (sum(c[k] * c["support"] for c in per_class.values()) / support if support else 0.0)
                for k in keys}
    n = len(per_class)
    return {"macro_avg": {**macro, "support": support, "n_classes": len(there),
                          "classes_left_out": [lb for lb in per_class if lb not in present]},
            "micro_avg": {**prf(tp, fp, fn), "support": support, "n_classes": n},
            "weighted_avg": {**weighted, "support": support, "n_classes": n},
            "taxonomy_macro_avg": {**everything, "support": support, "n_classes": n}}


def reference_entities(rows: list[dict]) -> dict[str, Any]:
    ids, gold, pred = entity_sets(rows)
    counts = {t: [0, 0, 0] for t in TAX.entity_names}
    for i in ids:
        for etype, *_ in gold[i] & pred[i]:
            if etype in counts:
                counts[etype][0] += 1
        for etype, *_ in pred[i] - gold[i]:
            if etype in counts:
                counts[etype][1] += 1
        for etype, *_ in gold[i] - pred[i]:
            if etype in counts:
                counts[etype][2] += 1
    per_class = {t: prf(*c) for t, c in counts.items()}
    tp, fp, fn = (sum(c[k] for c in counts.values()) for k in range(3))
    present = {t for t, c in counts.items() if sum(c)}
    return {"per_class": per_class, **averages(per_class, tp, fp, fn, present)}


def token_f1(a: str, b: str) -> float:
    ta, tb = set(a.split(" ")), set(b.split(" "))
    return 2 * len(ta & tb) / (len(ta) + len(tb))


def greedy_matches(gold: set[str], pred: set[str]) -> int:
    """One-to-one, greedy by token F1 (ties: gold value, then predicted value): the number of pairs."""
    pairs = sorted((-token_f1(g, p), g, p) for g in gold for p in pred if token_f1(g, p) >= 0.5)
    used_g: set[str] = set()
    used_p: set[str] = set()
    for _, g, p in pairs:
        if g not in used_g and p not in used_p:
            used_g.add(g)
            used_p.add(p)
    return len(used_g)


def reference_relaxed(rows: list[dict]) -> dict[str, Any]:
    ids, gold, pred = entity_sets(rows)
    c = {t: {"support": 0, "n_pred": 0, "matched": 0} for t in TAX.entity_names}
    for i in ids:
        for etype in c:
            for excluded in (False, True):  # a wish is never paired with an exclusion
                g = {v for t, v, x in gold[i] if t == etype and x == excluded}
                p = {v for t, v, x in pred[i] if t == etype and x == excluded}
                c[etype]["support"] += len(g)
                c[etype]["n_pred"] += len(p)
                c[etype]["matched"] += greedy_matches(g, p)

    def scores(support: int, n_pred: int, matched: int) -> dict[str, float]:
        p, r = (matched / n_pred if n_pred else 0.0), (matched / support if support else 0.0)
        return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": support}

    per_class = {t: scores(**v) for t, v in c.items()}
    total = {k: sum(v[k] for v in c.values()) for k in ("support", "n_pred", "matched")}
    out = averages(per_class, 0, 0, 0, {t for t, v in c.items() if v["support"] + v["n_pred"]})
    out["micro_avg"] = scores(**total) | {"n_classes": len(c)}
    return {"per_class": per_class, **out}


def reference_exclusions(rows: list[dict]) -> dict[str, Any]:
    """Excluded entities only, per excludable type (taxonomy order), plus the polarity flips: gold
    entities whose value the prediction holds under the same type with the other polarity only."""
    ids, gold, pred = entity_sets(rows)
    types = [t for t in TAX.entity_names if t in TAX.excludable]
    counts = {t: [0, 0, 0] for t in types}
    flips = {"wish_read_as_exclusion": 0, "exclusion_read_as_wish": 0}
    for i in ids:
        g = {e for e in gold[i] if e[2]}
        p = {e for e in pred[i] if e[2]}
        for k, found in enumerate((g & p, p - g, g - p)):
            for etype, *_ in found:
                if etype in counts:
                    counts[etype][k] += 1
        for etype, value, excluded in gold[i]:
            if (etype, value, excluded) not in pred[i] and (etype, value, not excluded) in pred[i]:
                flips["exclusion_read_as_wish" if excluded else "wish_read_as_exclusion"] += 1
    per_class = {t: prf(*c) for t, c in counts.items()}
    tp, fp, fn = (sum(c[k] for c in counts.values()) for k in range(3))
    present = {t for t, c in counts.items() if sum(c)}
    return {"per_class": per_class, **averages(per_class, tp, fp, fn, present), "support": tp + fn,
            "flips": flips}


def reference_exact_match(rows: list[dict]) -> float | None:
    ids, gold_i, pred_i = intents_by_query(rows)
    _, gold_e, pred_e = entity_sets(rows)
    hits = [g == p != NONE and gold_e[i] == pred_e[i] for i, g, p in zip(ids, gold_i, pred_i, strict=True)]
    return sum(hits) / len(hits) if hits else None


# ---------------------------------------------------------------- comparisons
def close(a: Any, b: Any, where: str = "") -> None:
    if isinstance(b, dict):
        assert set(a) == set(b), f"{where}: keys {sorted(a)} != {sorted(b)}"
        for k in b:
            close(a[k], b[k], f"{where}.{k}")
    elif b is None or a is None:
        assert a is b, f"{where}: {a!r} != {b!r}"
    elif isinstance(b, list):
        assert list(a) == b, f"{where}: {a!r} != {b!r}"
    else:
        assert abs(a - b) <= TOL, f"{where}: {a!r} != {b!r}"


def sklearn_intents(rows: list[dict]) -> dict[str, Any]:
    _, y_true, y_pred = intents_by_query(rows)
    labels = TAX.intent_names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = classification_report(y_true, y_pred, labels=labels, zero_division=0, output_dict=True)
        # the report prints 'accuracy' instead of 'micro avg' when labels cover every value seen
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="micro",
                                                     zero_division=0)
    out: dict[str, Any] = {
        "per_class": {lb: {"precision": rep[lb]["precision"], "recall": rep[lb]["recall"],
                           "f1": rep[lb]["f1-score"], "support": rep[lb]["support"]} for lb in labels}}
    for name in ("macro avg", "weighted avg"):
        out[name.replace(" ", "_")] = {"precision": rep[name]["precision"], "recall": rep[name]["recall"],
                                       "f1": rep[name]["f1-score"], "support": rep[name]["support"]}
    n, support = len(labels), out["macro_avg"]["support"]
    out["micro_avg"] = {"precision": p, "recall": r, "f1": f, "support": support}
    out["taxonomy_macro_avg"] = dict(out["macro_avg"])
    for key in ("micro_avg", "weighted_avg", "taxonomy_macro_avg"):
        out[key]["n_classes"] = n
    # the headline macro: sklearn's labels=None, less values outside the taxonomy (no class to score)
    present = [lb for lb in labels if lb in set(y_true) | set(y_pred)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, _ = (precision_recall_fscore_support(y_true, y_pred, labels=present, average="macro",
                                                      zero_division=0) if present else (0.0, 0.0, 0.0, None))
    out["macro_avg"] = {"precision": p, "recall": r, "f1": f, "support": support, "n_classes": len(present),
                        "classes_left_out": [lb for lb in labels if lb not in present]}
    out["accuracy"] = accuracy_score(y_true, y_pred)
    return out


def score_rows(tmp_path: Path, rows: list[dict]) -> dict[str, Any]:
    path = write_rows(tmp_path / "predictions.parquet", rows)
    return score.score_predictions(path, tmp_path / "out", TAX)


def check_all(tmp_path: Path, rows: list[dict]) -> dict[str, Any]:
    m = score_rows(tmp_path, rows)
    close(m["intent"], sklearn_intents(rows), "intent")
    ents = dict(m["entities"])
    relaxed = ents.pop("relaxed")
    ents.pop("by_group")  # test_entity_scores_by_group_split_names_from_closed_vocabularies
    close(ents, reference_entities(rows), "entities")
    close(relaxed, reference_relaxed(rows), "entities.relaxed")
    close(m["exact_match"], reference_exact_match(rows), "exact_match")
    close(m["exclusions"], reference_exclusions(rows), "exclusions")
    assert m["n_queries"] == len({r["id"] for r in rows})
    return m


# ---------------------------------------------------------------- tests
def test_normalization_agrees_with_sql_macro() -> None:
    con = duckdb.connect()
    score.load_macros(con)
    cases = {"Amélie": "amélie", "The Matrix!": "matrix", "  the  90s ": "90s", "Se7en": "se7en",
             "AMÉLIE": "amélie", "A Beautiful Mind": "beautiful mind", "an  Officer": "officer",
             "Spider-Man: No Way Home": "spiderman no way home", "Don’t Look Up": "dont look up",
             "Théâtre\u00a0du  Soleil": "théâtre du soleil", "the": "the", "Anne": "anne",
             "Léon: The Professional": "léon the professional", "¿Qué pasó?": "¿qué pasó"}
    for raw, want in cases.items():
        got = con.execute("select normalize_value(?)", [raw]).fetchone()[0]
        assert got == want == py_normalize(raw), raw


@pytest.mark.parametrize("seed", SEEDS)
def test_random_predictions_match_references(tmp_path: Path, seed: int) -> None:
    records = make_records(TAX, 300, "test", seed=seed)
    rows = noisy_rows(TAX, records, seed=seed)
    m = check_all(tmp_path, rows)
    assert 0 < m["intent"]["macro_avg"]["f1"] < 1 and 0 < m["entities"]["macro_avg"]["f1"] < 1
    # the noise really exercises the edge cases
    values = {r["value"] for r in rows if r["source"] == "pred"}
    assert None in values and UNSEEN_INTENT in values
    assert any(r["field"] == UNSEEN_TYPE for r in rows)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_predictions_with_exclusions_match_references(tmp_path: Path, seed: int) -> None:
    """Entities ruled out by the user: strict and relaxed matching need the right polarity, the
    exclusion scores and flips agree with the Python reference."""
    records = with_exclusions(TAX, make_records(TAX, 300, "test", seed=seed), seed)
    rows = polarity_noise(noisy_rows(TAX, records, seed=seed), seed)
    m = check_all(tmp_path, rows)
    ex = m["exclusions"]
    assert ex["support"] > 20 and 0 < ex["micro_avg"]["f1"] < 1
    assert ex["flips"]["wish_read_as_exclusion"] > 0 and ex["flips"]["exclusion_read_as_wish"] > 0
    assert set(ex["per_class"]) == {t for t in TAX.entity_names if t in TAX.excludable}


def test_confusion_matrix_matches_sklearn(tmp_path: Path) -> None:
    rows = noisy_rows(TAX, make_records(TAX, 200, "test", seed=9), seed=9)
    score_rows(tmp_path, rows)
    cells = json.loads((tmp_path / "out/tables/confusion_intent.json").read_text())
    _, y_true, y_pred = intents_by_query(rows)
    want = confusion_matrix(y_true, y_pred, labels=TAX.intent_names)
    got = {(c["gold"], c["pred"]): c["n"] for c in cells}
    for i, g in enumerate(TAX.intent_names):
        for j, p in enumerate(TAX.intent_names):
            assert got[(g, p)] == want[i, j]
    assert got[(TAX.intent_names[0], "(none)")] == sum(
        1 for t, p in zip(y_true, y_pred, strict=True) if t == TAX.intent_names[0] and p == NONE)
    assert sum(got.values()) == len(y_true)


def adversarial_cases() -> dict[str, list[dict]]:
    rng = random.Random(5)
    recs = make_records(TAX, 40, "test", seed=5)
    one_class = [dict(r, intent=TAX.intent_names[2]) for r in recs]
    unseen_gold = [dict(r, intent=UNSEEN_INTENT) if i % 3 == 0 else r for i, r in enumerate(recs)]

    def rows_for(records: list[dict], pred_fn) -> list[dict]:
        out: list[dict] = []
        for r in records:
            pred, status = pred_fn(r)
            out += long_rows(r, pred, status)
        return out

    def dup(rows: list[dict]) -> list[dict]:
        return rows + [r for r in rows if r["source"] == "pred"] + [r for r in rows if r["field"] != "intent"]

    perfect = rows_for(recs, lambda r: ({"intent": r["intent"], "entities": r["entities"]}, "ok"))
    ruled_out = with_exclusions(TAX, recs, 5, share=1.0)

    def flipped(r: dict) -> tuple[dict, str]:
        return {"intent": r["intent"], "entities": [dict(e, exclude=not e.get("exclude")) for e in r["entities"]]}, "ok"

    def both_ways(r: dict) -> tuple[dict, str]:
        ents = r["entities"] + [dict(e, exclude=not e.get("exclude")) for e in r["entities"]]
        return {"intent": r["intent"], "entities": ents}, "ok"

    return {
        # polarity: every exclusion right; every entity read with the other polarity; every value
        # predicted both ways (each right one found, each wrong one spurious); exclusions of a gold
        # that has none
        "perfect_exclusions": rows_for(ruled_out, lambda r: ({"intent": r["intent"], "entities": r["entities"]},
                                                             "ok")),
        "every_polarity_flipped": rows_for(ruled_out, flipped),
        "both_polarities_predicted": rows_for(ruled_out, both_ways),
        "exclusions_without_gold_ones": rows_for(recs, flipped),
        "gold_only_no_pred_rows": [r for r in perfect if r["source"] == "gold"],
        "all_unparseable": rows_for(recs, lambda r: (None, "invalid_json")),
        "all_unseen_labels": rows_for(recs, lambda r: (
            {"intent": UNSEEN_INTENT, "entities": [{"type": UNSEEN_TYPE, "value": "x"}]}, "schema_violation")),
        "perfect": perfect,
        "perfect_with_duplicates": dup(perfect),
        "one_class_only": rows_for(one_class, lambda r: ({"intent": r["intent"], "entities": []}, "ok")),
        "one_class_predicted_for_all": rows_for(recs, lambda r: (
            {"intent": TAX.intent_names[0], "entities": r["entities"][:1]}, "ok")),
        "unseen_gold_labels": rows_for(unseen_gold, lambda r: (
            {"intent": rng.choice(TAX.intent_names), "entities": r["entities"]}, "ok")),
        "single_query": perfect[:1],
        # one long prediction over two gold spans, and near misses competing for one gold span
        "overlapping_spans": rows_for(
            [dict(r, entities=[{"type": "plot", "value": v} for v in ("loyalty", "survival", "a heist")])
             for r in recs[:10]],
            lambda r: ({"intent": r["intent"], "entities": [
                {"type": "plot", "value": v} for v in ("loyalty and survival", "heist", "the heist")]}, "ok")),
    }


@pytest.mark.parametrize("case", list(adversarial_cases()))
def test_adversarial_predictions_match_references(tmp_path: Path, case: str) -> None:
    rows = adversarial_cases()[case]
    m = check_all(tmp_path, rows)
    if case == "perfect_exclusions":
        assert m["exclusions"]["micro_avg"]["f1"] == 1.0 and m["exclusions"]["support"] > 0
    if case == "every_polarity_flipped":
        assert m["entities"]["micro_avg"]["f1"] == 0.0 and m["entities"]["relaxed"]["micro_avg"]["f1"] == 0.0
        assert m["exclusions"]["micro_avg"]["f1"] == 0.0 and sum(m["exclusions"]["flips"].values()) > 0
    if case.startswith("perfect"):
        assert m["exact_match"] == 1.0 and m["intent"]["accuracy"] == 1.0
        assert m["entities"]["micro_avg"]["f1"] == 1.0 and m["entities"]["relaxed"]["micro_avg"]["f1"] == 1.0
    if case in ("all_unparseable", "gold_only_no_pred_rows"):
        assert m["intent"]["macro_avg"]["f1"] == 0.0 and m["exact_match"] == 0.0
        assert m["schema_valid_rate"] == 0.0


def test_empty_predictions(tmp_path: Path) -> None:
    """sklearn refuses empty input; here every score is 0 and every share-of-queries NULL."""
    m = score_rows(tmp_path, [])
    assert m["n_queries"] == 0
    assert m["intent"]["accuracy"] is None and m["exact_match"] is None and m["schema_valid_rate"] is None
    for group in (m["intent"], m["entities"], m["entities"]["relaxed"]):
        assert all(v == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
                   for v in group["per_class"].values())
        assert group["macro_avg"]["f1"] == 0.0 and group["micro_avg"]["f1"] == 0.0


def test_writes_every_table_and_joins_query_text(tmp_path: Path) -> None:
    records = make_records(TAX, 30, "test", seed=3)
    path = write_rows(tmp_path / "p.parquet", noisy_rows(TAX, records, seed=3))
    queries = {r["id"]: r["query"] for r in records}
    m = score.score_predictions(path, tmp_path / "out", TAX, queries=queries, meta={"system": "x"})
    stems = sorted(p.stem for p in score.SQL_DIR.glob("*.sql"))
    assert m["tables"] == stems and m["meta"] == {"system": "x"}
    for stem in stems:
        assert (tmp_path / "out/tables" / f"{stem}.csv").is_file()
        assert isinstance(json.loads((tmp_path / "out/tables" / f"{stem}.json").read_text()), list)
    worst = json.loads((tmp_path / "out/tables/worst_errors.json").read_text())
    assert worst and all(w["query"] == queries[w["id"]] for w in worst)
    assert json.loads((tmp_path / "out/metrics.json").read_text())["n_queries"] == 30
    # setup.sql, read as the DuckDB CLI reads an init script (dot commands and ;-terminated SQL in
    # order), recreates macros, relations and views: every metric file then runs alone and gives the
    # numbers eval.score wrote
    con = duckdb.connect()
    run_cli_script(con, (tmp_path / "out/setup.sql").read_text())
    for stem in stems:
        got = con.sql((score.SQL_DIR / f"{stem}.sql").read_text()).fetchall()
        want = json.loads((tmp_path / "out/tables" / f"{stem}.json").read_text())
        assert len(got) == len(want), stem
        for g, w in zip(got, want, strict=True):
            for a, b in zip(g, [v for k, v in w.items() if k != "query"], strict=True):
                assert a == b or abs(a - b) <= TOL, (stem, g, w)


def run_cli_script(con: duckdb.DuckDBPyConnection, script: str) -> None:
    """The DuckDB CLI's reading of an init script: `.read FILE` runs the file, SQL runs at each ';'."""
    pending = ""
    for line in script.splitlines():
        if not pending and line.startswith(".read "):
            con.execute(Path(line.split(" ", 1)[1]).read_text())
        elif not pending and (line.startswith("--") or not line.strip()):
            continue
        else:
            pending += line + "\n"
            if line.rstrip().endswith(";"):
                con.execute(pending)
                pending = ""
    assert not pending.strip(), pending


def test_conflicting_intents_are_refused(tmp_path: Path) -> None:
    rec = make_records(TAX, 1, "test")[0]
    rows = long_rows(rec, {"intent": TAX.intent_names[0], "entities": []}, "ok")
    rows.append(dict(rows[-1], value=TAX.intent_names[1]))
    with pytest.raises(ValueError, match=r"conflicting_intents\.sql found 1 bad row"):
        score_rows(tmp_path, rows)


def test_missing_column_is_a_one_line_error(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a"], "value": ["b"]}), tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"bad\.parquet: missing column\(s\) source, field; expected"):
        score.score_predictions(tmp_path / "bad.parquet", tmp_path / "out", TAX)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_four_column_long_form_is_accepted(tmp_path: Path, suffix: str) -> None:
    """(id, source, field, value) alone scores like the full form with status 'ok' and no split; the
    setup.sql it writes recreates the same relation for the DuckDB CLI."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rows = noisy_rows(TAX, make_records(TAX, 40, "test", seed=6), seed=6)
    full = [dict(r, split=None, status=None if r["source"] == "gold" else "ok") for r in rows]
    want = score_rows(tmp_path / "full", full)
    table = pa.Table.from_pylist([{k: r[k] for k in ("id", "source", "field", "value")} for r in rows])
    path = tmp_path / f"four{suffix}"
    pq.write_table(table, path) if suffix == ".parquet" else pcsv.write_csv(table, path)
    got = score.score_predictions(path, tmp_path / "out", TAX)
    for key in ("intent", "entities", "exact_match", "schema_valid_rate", "status_counts", "n_queries"):
        close(got[key], want[key], key)
    con = duckdb.connect()
    script = (tmp_path / "out/setup.sql").read_text()
    view = next(line for line in script.splitlines() if line.startswith("create or replace view predictions"))
    con.execute(view)
    assert con.execute("select count(*) from predictions where source = 'pred' and status = 'ok'").fetchone()[0] \
        == sum(r["source"] == "pred" for r in rows)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = make_records(TAX, 20, "test", seed=4)
    path = write_rows(tmp_path / "p.parquet", noisy_rows(TAX, records, seed=4))
    score.main(["--predictions", str(path), "--out", str(tmp_path / "o")])
    assert "20 queries: intent macro-F1" in capsys.readouterr().out
    with pytest.raises(SystemExit) as err:
        score.main(["--predictions", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "o")])
    assert err.value.code == 2 and "nope.parquet: predictions file not found" in capsys.readouterr().err


def test_label_order_follows_taxonomy(tmp_path: Path) -> None:
    score_rows(tmp_path, noisy_rows(TAX, make_records(TAX, 20, "test"), seed=0))
    per_class = json.loads((tmp_path / "out/tables/per_class_intent.json").read_text())
    assert [r["label"] for r in per_class] == TAX.intent_names
    per_entity = json.loads((tmp_path / "out/tables/per_class_entity.json").read_text())
    assert [r["label"] for r in per_entity] == TAX.entity_names
    assert re.fullmatch(r"\d+", str(per_class[0]["support"]))


# ---------------------------------------------------------------- item: macro over classes present
def candidates(rows: list[dict]) -> tuple[list[str], list[str]]:
    """Entity sets as sklearn labels: one sample per distinct entity in gold or prediction, labelled with
    its type where it is in that side's set and with NONE where not, so per-type tp/fp/fn are sklearn's."""
    ids, gold, pred = entity_sets(rows)
    y_true, y_pred = [], []
    for i in ids:
        for entity in sorted(gold[i] | pred[i]):
            y_true.append(entity[0] if entity in gold[i] else NONE)
            y_pred.append(entity[0] if entity in pred[i] else NONE)
    return y_true, y_pred


def six_type_rows(seed: int = 1) -> tuple[list[dict], list[str]]:
    """Random predictions (eval/score's noise) on gold and predictions that use 6 of the entity types."""
    six = TAX.entity_names[:6]
    recs = [dict(r, entities=[e for e in r["entities"] if e["type"] in six])
            for r in make_records(TAX, 300, "test", seed=seed)]
    rows = [r for r in noisy_rows(TAX, recs, seed=seed) if r["field"] == "intent" or r["field"] in six]
    return rows, six


def test_entity_macro_averages_the_types_present_like_sklearn(tmp_path: Path) -> None:
    rows, six = six_type_rows()
    m = score_rows(tmp_path, rows)["entities"]
    y_true, y_pred = candidates(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        present = sorted(set(y_true + y_pred) - {NONE})  # sklearn's labels=None, less the no-entity label
        want = precision_recall_fscore_support(y_true, y_pred, labels=present, average="macro",
                                               zero_division=0)
        everything = precision_recall_fscore_support(y_true, y_pred, labels=TAX.entity_names,
                                                     average="macro", zero_division=0)
    assert set(present) == set(six)
    for k, key in enumerate(("precision", "recall", "f1")):
        assert abs(m["macro_avg"][key] - want[k]) <= TOL, key
        assert abs(m["taxonomy_macro_avg"][key] - everything[k]) <= TOL, key
    assert m["macro_avg"]["n_classes"] == 6 and m["taxonomy_macro_avg"]["n_classes"] == len(TAX.entity_names)
    assert m["macro_avg"]["classes_left_out"] == [t for t in TAX.entity_names if t not in six]
    assert m["macro_avg"]["f1"] > m["taxonomy_macro_avg"]["f1"]


def test_perfect_system_on_a_subset_scores_one(tmp_path: Path) -> None:
    """A subset with no gold of some types: absent types no longer count as F1 0 (0.929 before)."""
    recs = [r for r in make_records(TAX, 60, "test", seed=8)
            if all(e["type"] != TAX.entity_names[0] for e in r["entities"])]
    rows: list[dict] = []
    for r in recs:
        rows += long_rows(r, {"intent": r["intent"], "entities": r["entities"]}, "ok")
    m = score_rows(tmp_path, rows)
    for group in (m["intent"], m["entities"], m["entities"]["relaxed"]):
        assert group["macro_avg"]["f1"] == 1.0
    assert TAX.entity_names[0] in m["entities"]["macro_avg"]["classes_left_out"]
    assert m["entities"]["taxonomy_macro_avg"]["f1"] < 1.0


def test_raw_output_is_scored_ungrounded_values_are_false_positives(tmp_path: Path) -> None:
    """In schema/none modes nothing forces values into the query: an invented value must cost precision,
    not vanish before scoring; the summary counts it apart."""
    import jsonschema

    from eval.predict import RawOutput, write_outputs
    from schemas import extraction_json, extraction_schema

    rec = make_records(TAX, 1, "test", seed=11)[0]
    rec = dict(rec, query="something " + rec["query"])
    invented = {"type": TAX.entity_names[0], "value": "zz invented title"}
    text = extraction_json(rec["intent"], [{"type": e["type"], "value": e["value"]} for e in rec["entities"]]
                           + [invented, invented])
    validator = jsonschema.Draft202012Validator(extraction_schema(TAX))
    path = write_outputs([rec], [RawOutput(text, 10, False)], validator, tmp_path, {"seconds": 1.0})
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["ungrounded_values"] == 2 and summary["duplicate_values"] == 1
    m = score.score_predictions(path, tmp_path / "out", TAX)
    assert m["entities"]["per_class"][TAX.entity_names[0]]["precision"] < 1.0
    assert m["entities"]["micro_avg"]["precision"] < 1.0 and m["exact_match"] == 0.0


def test_entity_scores_by_group_split_names_from_closed_vocabularies(tmp_path: Path) -> None:
    """Heldout entity F1 per group: 'names' (title, actor, director, character: the values the heldout
    split keeps out of training) and 'closed_vocabulary', against the reference per-type scores."""
    rows = noisy_rows(TAX, make_records(TAX, 300, "heldout", seed=12), seed=12)
    m = score_rows(tmp_path, rows)["entities"]["by_group"]
    assert m["names"]["types"] == ["title", "actor", "director", "character"]
    assert m["closed_vocabulary"]["types"] == [t for t in TAX.entity_names if t not in m["names"]["types"]]
    ref = reference_entities(rows)["per_class"]
    ids, gold, pred = entity_sets(rows)
    for group, got in m.items():
        types = got["types"]
        tp = sum(len({e for e in gold[i] & pred[i] if e[0] in types}) for i in ids)
        fp = sum(len({e for e in pred[i] - gold[i] if e[0] in types}) for i in ids)
        fn = sum(len({e for e in gold[i] - pred[i] if e[0] in types}) for i in ids)
        present = [t for t in types if ref[t]["support"] or ref[t]["precision"] or any(
            e[0] == t for i in ids for e in pred[i])]
        close(got["micro_avg"], prf(tp, fp, fn) | {"n_classes": len(types)}, group)
        close(got["macro_avg"], {k: sum(ref[t][k] for t in present) / len(present)
                                 for k in ("precision", "recall", "f1")}
              | {"support": tp + fn, "n_classes": len(present),
                 "classes_left_out": [t for t in types if t not in present]}, group)


def test_names_any_type_counts_a_name_found_under_another_name_type(tmp_path: Path) -> None:
    """metrics.json's names `any_type` (sql/scoring/names_any_type.sql) against a Python reference: a gold
    name is found when the query's prediction holds its normalized value under any of the four name
    types; a hand-made actor read as a director is a miss strictly and a hit here."""
    records = with_exclusions(TAX, make_records(TAX, 300, "heldout", seed=5), 5)
    rows = polarity_noise(noisy_rows(TAX, records, seed=5), 5)
    rows += [{"id": "hand", "split": "heldout", "source": s, "field": f, "value": v, "status": st}
             for s, f, v, st in [("gold", "intent", "recommend", None), ("gold", "actor", "Tom Hanks", None),
                                 ("pred", "intent", "recommend", "ok"), ("pred", "director", "tom hanks!", "ok")]]
    names = score_rows(tmp_path, rows)["entities"]["by_group"]["names"]
    assert names["types"] == ["title", "actor", "director", "character"]
    ids, gold, pred = entity_sets(rows)
    untyped = {src: {i: {(v, x) for t, v, x in sets[i] if t in names["types"]} for i in ids}
               for src, sets in (("gold", gold), ("pred", pred))}
    tp = sum(len(untyped["gold"][i] & untyped["pred"][i]) for i in ids)
    fp = sum(len(untyped["pred"][i] - untyped["gold"][i]) for i in ids)
    fn = sum(len(untyped["gold"][i] - untyped["pred"][i]) for i in ids)
    close(names["any_type"], prf(tp, fp, fn) | {"tp": tp, "fp": fp, "fn": fn})
    assert ("tom hanks", False) in untyped["gold"]["hand"] & untyped["pred"]["hand"]
    assert names["any_type"]["f1"] > names["micro_avg"]["f1"]
