"""eval/baselines.py: the gazetteer's matching rules and the fitted baseline on fabricated records."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fabricate import make_records

from eval import score
from eval.baselines import Baseline, Gazetteer, predict_baseline
from eval.config import load_eval_config
from eval.predictions import COLUMNS
from schemas import load_taxonomy

TAX = load_taxonomy()
CFG = load_eval_config().baseline
A, B = TAX.entity_names[0], TAX.entity_names[1]


def rec(query: str, entities: list[tuple[str, str]], split: str = "train", intent: str | None = None) -> dict:
    ents = []
    for etype, value in entities:
        start = query.index(value)
        ents.append({"type": etype, "value": value, "start": start, "end": start + len(value)})
    return {"id": query, "query": query, "intent": intent or TAX.intent_names[0], "entities": ents,
            "split": split, "meta": {}}


def test_gazetteer_longest_match_case_insensitive_whole_words() -> None:
    gaz = Gazetteer([rec("The Dark Knight and dark", [(A, "The Dark Knight"), (B, "dark")]),
                     rec("Amélie", [(A, "Amélie")]), rec("Up", [(A, "Up")])], TAX, min_value_chars=3)
    found = gaz.find("is THE DARK KNIGHT darker than Amélie, or dark? Up!")
    assert found == [{"type": A, "value": "THE DARK KNIGHT"}, {"type": A, "value": "Amélie"},
                     {"type": B, "value": "dark"}]  # not inside 'darker'; 'Up' is below min_value_chars
    assert gaz.size == 3


def test_gazetteer_value_takes_its_most_frequent_type() -> None:
    gaz = Gazetteer([rec("Paris", [(A, "Paris")]), rec("Paris!", [(B, "Paris")]),
                     rec("in paris", [(B, "paris")])], TAX, min_value_chars=3)
    assert gaz.find("films set in PARIS") == [{"type": B, "value": "PARIS"}]


def test_baseline_learns_fabricated_intents_and_entities(tmp_path: Path) -> None:
    train = make_records(TAX, 400, "train", seed=1)
    test = make_records(TAX, 120, "test", seed=2)
    model = Baseline(TAX, CFG).fit(train)
    path = predict_baseline(model, test, tmp_path)
    assert tuple(pq.read_schema(path).names) == COLUMNS
    lines = [json.loads(x) for x in (tmp_path / "outputs.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [r["id"] for r in test]
    m = score.score_predictions(path, tmp_path, TAX)
    assert m["schema_valid_rate"] == 1.0
    assert m["intent"]["accuracy"] > 0.9, m["intent"]
    assert m["entities"]["micro_avg"]["recall"] > 0.5, m["entities"]["micro_avg"]


def test_baseline_applies_taxonomy_rules() -> None:
    forbidding = next(i for i in TAX.intents.values() if i.rules.forbids)
    banned = forbidding.rules.forbids[0]
    model = Baseline(TAX, CFG)
    ents = [{"type": banned, "value": "x"}, {"type": next(t for t in TAX.entity_names if t != banned),
                                             "value": "y"}]
    assert [e["type"] for e in model.allowed(forbidding.name, ents)] == [ents[1]["type"]]
    silent = [i for i in TAX.intents.values() if i.rules.max_entities == 0]
    for intent in silent:
        assert model.allowed(intent.name, ents) == []


def test_baseline_refuses_non_train_records() -> None:
    train = make_records(TAX, 20, "train") + make_records(TAX, 2, "test")
    with pytest.raises(ValueError, match=r"fitted on train records only; got split\(s\) \['test'\]"):
        Baseline(TAX, CFG).fit(train)
    one = [dict(r, intent=TAX.intent_names[0]) for r in make_records(TAX, 5, "train")]
    with pytest.raises(ValueError, match="needs at least two"):
        Baseline(TAX, CFG).fit(one)


def test_baseline_excludes_a_value_right_after_a_negation_cue(tmp_path: Path) -> None:
    """eval/config.yml's negation rule: a cue, then only skip words, then a value of an excludable type;
    the polarity reaches predictions.parquet and the exclusion scores."""
    train = [rec("a horror movie with Tom Cruise", [("genre", "horror"), ("media_type", "movie"),
                                                    ("actor", "Tom Cruise")]),
             rec("something scary", [("mood", "scary")]), rec("Dune please", [("title", "Dune")])]
    model = Baseline(TAX, CFG)
    model.gazetteer = Gazetteer(train, TAX, CFG.min_value_chars)
    got = model.entities("not a horror movie, no Tom Cruise, nothing too scary, but not Dune")
    assert got == [{"type": "genre", "value": "horror", "exclude": True}, {"type": "media_type", "value": "movie"},
                   {"type": "actor", "value": "Tom Cruise", "exclude": True},
                   {"type": "mood", "value": "scary", "exclude": True},
                   {"type": "title", "value": "Dune"}]  # a title cannot be ruled out (taxonomy)
    # a cue elsewhere in the query, or a word between that is not a skip word, rules nothing out
    assert all("exclude" not in e for e in model.entities("a horror movie, is Tom Cruise not in it, not really"
                                                          " scary"))
    assert model.entities("anything but horror") == [{"type": "genre", "value": "horror", "exclude": True}]
    test = [rec("not a horror movie", [("genre", "horror"), ("media_type", "movie")], split="test")]
    test[0]["entities"][0]["exclude"] = True
    model.classifier = type("Fixed", (), {"predict": lambda self, qs: [TAX.intent_names[0]] * len(qs)})()
    m = score.score_predictions(predict_baseline(model, test, tmp_path), tmp_path / "out", TAX)
    assert m["exclusions"]["micro_avg"]["f1"] == 1.0 and m["exclusions"]["support"] == 1
