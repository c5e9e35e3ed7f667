"""eval.uncertainty: the template bootstrap reproduces the report's figures on the sample itself, agrees
with scikit-learn's weighted Macro-F1 on every resample, and pairs runs on the same resamples."""

from __future__ import annotations

import random

import numpy as np
import pytest
from fabricate import make_records, noisy_rows, polarity_noise, with_exclusions, write_rows
from sklearn.metrics import f1_score

from eval.predictions import long_rows
from eval.score import score_predictions
from eval.uncertainty import bootstrap, cluster_counts, metrics, query_counts
from schemas import load_taxonomy


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


@pytest.fixture(scope="module")
def scored(tax, tmp_path_factory):
    """400 fabricated records in 9 templates, two noisy prediction files, each scored by eval.score."""
    tmp = tmp_path_factory.mktemp("unc")
    records = make_records(tax, 400, "heldout", seed=3)
    for i, r in enumerate(records):
        r["meta"] = {"template_id": f"t{i % 9}"}
    paths = [write_rows(tmp / f"p{s}.parquet", noisy_rows(tax, records, seed=s)) for s in (1, 2)]
    reports = [score_predictions(p, tmp / f"score{i}", tax) for i, p in enumerate(paths)]
    return records, paths, reports


def test_the_sample_itself_gives_the_reports_figures(tax, scored):
    records, paths, reports = scored
    iv = bootstrap(paths, records, tax, n_resamples=50)
    assert iv["clusters"] == 9
    for run, m in zip(iv["runs"], reports, strict=True):
        ent = m["entities"]
        assert run["intent_f1"]["value"] == pytest.approx(m["intent"]["macro_avg"]["f1"])
        assert run["entity_f1"]["value"] == pytest.approx(ent["macro_avg"]["f1"])
        assert run["names_f1"]["value"] == pytest.approx(ent["by_group"]["names"]["macro_avg"]["f1"])
        for t in ("title", "actor", "director", "character"):
            assert run[t]["value"] == pytest.approx(ent["per_class"][t]["f1"])
        assert all(v["lo"] <= v["hi"] for v in run.values())
    diff = iv["differences"][0]["entity_f1"]
    assert diff["value"] == pytest.approx(iv["runs"][1]["entity_f1"]["value"] - iv["runs"][0]["entity_f1"]["value"])


def test_every_resample_equals_sklearns_weighted_macro_f1_for_intents(tax, scored, tmp_path):
    records, paths, _ = scored
    # Clusters = intents and wrong answers = unparseable outputs, so a resample that skips a cluster has
    # a class with neither gold nor prediction: the macro must leave it out, as sklearn's labels do.
    rng = random.Random(1)
    rows, pred = [], {}
    for r in records:
        ok = rng.random() < 0.7
        pred[r["id"]] = r["intent"] if ok else "(none)"
        rows += long_rows(r, {"intent": r["intent"], "entities": []} if ok else None,
                          "ok" if ok else "invalid_json")
    path = write_rows(tmp_path / "p.parquet", rows)
    clusters = sorted({r["intent"] for r in records})
    cluster_of = {r["id"]: r["intent"] for r in records}
    counts = cluster_counts(query_counts(path, tax), cluster_of, clusters, tax)
    gen = np.random.default_rng(7)
    weights = np.zeros((30, len(clusters)))
    np.add.at(weights, (np.arange(30)[:, None], gen.integers(0, len(clusters), (30, len(clusters)))), 1)
    ours = metrics(counts, weights, tax)["intent_f1"]
    y_true = [r["intent"] for r in records]
    y_pred = [pred[r["id"]] for r in records]
    for b in range(30):
        w = np.array([weights[b, clusters.index(cluster_of[r["id"]])] for r in records])
        drawn = [i for i in range(len(records)) if w[i] > 0]
        labels = sorted({y_true[i] for i in drawn} | ({y_pred[i] for i in drawn} & set(tax.intent_names)))
        want = f1_score(y_true, y_pred, labels=labels, average="macro", sample_weight=w, zero_division=0)
        assert ours[b] == pytest.approx(want)


def test_a_run_against_itself_differs_by_exactly_zero_and_one_template_has_no_spread(tax, scored, tmp_path):
    records, paths, _ = scored
    iv = bootstrap([paths[0], paths[0]], records, tax, n_resamples=30)
    assert all((v["value"], v["lo"], v["hi"]) == (0.0, 0.0, 0.0) for v in iv["differences"][0].values())
    one = [dict(r, meta={"template_id": "same"}) for r in records]
    single = bootstrap([paths[0]], one, tax, n_resamples=30)["runs"][0]["entity_f1"]
    assert single["lo"] == pytest.approx(single["value"]) and single["hi"] == pytest.approx(single["value"])


def test_errors_packed_in_one_template_widen_the_interval(tax, tmp_path):
    """Same number of wrong intents, spread over all templates or all in one: clustering must show."""
    records = make_records(tax, 300, "heldout", seed=5)
    for i, r in enumerate(records):
        r["meta"] = {"template_id": f"t{i % 10}"}
    rng = random.Random(0)

    def write(wrong: set[int], name: str):
        rows = []
        for i, r in enumerate(records):
            intent = r["intent"] if i not in wrong else rng.choice([n for n in tax.intent_names
                                                                    if n != r["intent"]])
            rows += long_rows(r, {"intent": intent, "entities": r["entities"]}, "ok")
        return write_rows(tmp_path / f"{name}.parquet", rows)

    spread = write({i for i in range(300) if i % 10 == i // 10 % 10}, "spread")   # 3 per template
    packed = write({i for i in range(300) if i % 10 == 0}, "packed")               # 30 in template t0
    width = {}
    for name, path in (("spread", spread), ("packed", packed)):
        iv = bootstrap([path], records, tax, n_resamples=400)["runs"][0]["intent_f1"]
        width[name] = iv["hi"] - iv["lo"]
    assert width["packed"] > 2 * width["spread"], width


def test_a_type_absent_from_a_resample_is_left_out_not_scored_zero(tax, tmp_path):
    """Directors only in one template: resamples that skip it have no director F1 (not 0.0)."""
    records = make_records(tax, 200, "heldout", seed=9)
    for i, r in enumerate(records):
        r["meta"] = {"template_id": f"t{i % 8}"}
        r["entities"] = [e for e in r["entities"] if e["type"] != "director"]
    records[0]["entities"] = [{"type": "director", "value": "Ann Lee", "start": 0, "end": 7}]
    records[0]["query"] = "Ann Lee " + records[0]["query"]
    rows = []
    for r in records:
        rows += long_rows(r, {"intent": r["intent"], "entities": r["entities"]}, "ok")
    iv = bootstrap([write_rows(tmp_path / "p.parquet", rows)], records, tax, n_resamples=200)
    director = iv["runs"][0]["director"]
    assert director["value"] == 1.0 and director["lo"] == 1.0
    assert 0 < director["resamples"] < 200  # ~(7/8)^8 of resamples miss t0


def test_external_intervals_are_per_query_paired_against_the_baseline(tax, tmp_path):
    """An imported corpus has no templates: every query is a cluster. Scores cover the mapped types only,
    the point values are the external report's own, and each difference reads 'system minus baseline'."""
    from dataclasses import replace

    from eval.external.scoring import external_intervals

    sub = replace(tax, entity_types={n: t for n, t in tax.entity_types.items() if n in ("actor", "genre", "year")})
    records = make_records(tax, 120, "heldout", seed=5)
    for r in records:  # as eval/external/labels.py imports them: where the query came from, no template
        r["meta"] = {"source": "corpus.bio", "where": f"line {r['id']}"}
    paths = {s: write_rows(tmp_path / f"{s}.parquet", noisy_rows(tax, records, seed=k))
             for k, s in enumerate(("finetuned", "baseline"), start=7)}
    reports = {s: score_predictions(p, tmp_path / s, sub) for s, p in paths.items()}
    got = external_intervals(paths, records, sub, has_intents=False)
    assert got["finetuned"]["clusters"] == got["baseline"]["clusters"] == 120
    assert "intent_f1" not in got["finetuned"]["metrics"]  # a corpus without intents scores none
    for s, m in reports.items():
        iv = got[s]["metrics"]
        assert set(iv) == {"entity_f1", "names_f1", "actor", "genre", "year"}
        assert iv["entity_f1"]["value"] == pytest.approx(m["entities"]["macro_avg"]["f1"])
        for t in ("actor", "genre", "year"):
            assert iv[t]["value"] == pytest.approx(m["entities"]["per_class"][t]["f1"])
            assert iv[t]["lo"] <= iv[t]["value"] <= iv[t]["hi"]
    assert "differences" not in got["baseline"] and got["finetuned"]["minus"] == "baseline"
    for k, v in got["finetuned"]["differences"].items():
        assert v["value"] == pytest.approx(got["finetuned"]["metrics"][k]["value"] - got["baseline"]["metrics"][k]["value"])
    assert external_intervals(paths, [], sub, has_intents=False) == {}  # an empty corpus: no resamples to draw
    with_intents = external_intervals({"finetuned": paths["finetuned"]}, records, sub, has_intents=True)
    assert with_intents["finetuned"]["metrics"]["intent_f1"]["value"] == pytest.approx(
        reports["finetuned"]["intent"]["macro_avg"]["f1"])


def test_exclusion_f1_is_carried_and_its_sample_value_is_the_reports(tax, tmp_path):
    """The micro F1 of excluded entities (metrics.json exclusions.micro_avg) resampled by template."""
    records = with_exclusions(tax, make_records(tax, 300, "test", seed=4), 4)
    for i, r in enumerate(records):
        r["meta"] = {"template_id": f"t{i % 7}"}
    path = write_rows(tmp_path / "p.parquet", polarity_noise(noisy_rows(tax, records, seed=4), 4))
    report = score_predictions(path, tmp_path / "score", tax)
    run = bootstrap([path], records, tax, n_resamples=40)["runs"][0]
    want = report["exclusions"]["micro_avg"]["f1"]
    assert 0 < want < 1 and run["exclusion_f1"]["value"] == pytest.approx(want)
    assert run["exclusion_f1"]["lo"] <= want <= run["exclusion_f1"]["hi"]
