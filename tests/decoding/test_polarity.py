"""decoding/polarity.py: who decides "exclude" (the model, the negation cues, or either), the same way in
the service's spans (to_spans) and in eval's scored predictions; a new polarity re-scores saved raw
outputs without decoding."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import duckdb
import jsonschema
import pytest
import yaml

from decoding.parser import to_spans
from decoding.polarity import POLARITIES, resolve
from eval.config import DEFAULT_CONFIG, load_eval_config
from eval.predict import RawOutput, rescore_outputs, write_outputs
from schemas import ConfigError, extraction_json, extraction_schema, load_taxonomy

TAX = load_taxonomy()
VALIDATOR = jsonschema.Draft202012Validator(extraction_schema(TAX, max_value_chars=80, max_entities=8))
QUERY = "not a horror movie please, something romantic with tom hanks"
# the model reads the exclusion as a wish and calls the name an exclusion
MODEL = [{"value": "horror", "type": "genre"}, {"value": "movie", "type": "media_type"},
         {"value": "romantic", "type": "mood"}, {"value": "tom hanks", "type": "actor", "exclude": True}]


def excluded(ents: list[dict]) -> list[str]:
    return [e["value"] for e in ents if e.get("exclude")]


def test_each_polarity_decides_as_documented() -> None:
    assert excluded(resolve(QUERY, MODEL, TAX, "model")) == ["tom hanks"]
    assert excluded(resolve(QUERY, MODEL, TAX, "cues")) == ["horror", "movie"]
    assert excluded(resolve(QUERY, MODEL, TAX, "either")) == ["horror", "movie", "tom hanks"]
    assert set(POLARITIES) == {"model", "cues", "either"}


def test_types_that_cannot_be_ruled_out_never_are() -> None:
    ents = [{"value": "Heat", "type": "title"}, {"value": "al pacino", "type": "actor"}]
    assert "title" not in TAX.excludable
    assert excluded(resolve("not Heat with al pacino", ents, TAX, "cues")) == ["al pacino"]


def test_the_service_and_eval_agree(tmp_path: Path) -> None:
    text = extraction_json("recommend", MODEL)
    spans = to_spans(QUERY, text, False, VALIDATOR, TAX, "cues")
    assert [e["value"] for e in spans["entities"] if e["exclude"]] == ["horror", "movie"]
    rec = {"id": "q1", "split": "test", "query": QUERY, "intent": "recommend",
           "entities": [{"type": "genre", "value": "horror", "exclude": True},
                        {"type": "mood", "value": "romantic"}, {"type": "actor", "value": "tom hanks"}]}
    path = write_outputs([rec], [RawOutput(text, 30, False)], VALIDATOR, tmp_path, {"seconds": 1.0}, TAX, "cues")
    rows = duckdb.sql(f"select value from '{path}' where source = 'pred' and exclude").fetchall()
    assert sorted(v for (v,) in rows) == ["horror", "movie"]


def test_a_new_polarity_rescores_saved_outputs(tmp_path: Path) -> None:
    rec = {"id": "q1", "split": "test", "query": QUERY, "intent": "recommend", "entities": []}
    text = extraction_json("recommend", MODEL)
    write_outputs([rec], [RawOutput(text, 30, False)], VALIDATOR, tmp_path,
                  {"seconds": 1.0, "max_value_chars": 80, "max_entities": 8}, TAX, "model")
    raw = (tmp_path / "outputs.jsonl").read_text()
    for polarity, want in (("cues", ["horror", "movie"]), ("model", ["tom hanks"])):
        path = rescore_outputs([rec], tmp_path, TAX, polarity)
        got = duckdb.sql(f"select value from '{path}' where source = 'pred' and exclude order by 1").fetchall()
        assert [v for (v,) in got] == want
        assert json.loads((tmp_path / "summary.json").read_text())["polarity"] == polarity
        assert (tmp_path / "outputs.jsonl").read_text() == raw  # the raw text is kept as decoded
    with pytest.raises(ConfigError, match=r"outputs\.jsonl: no output for record q2"):
        rescore_outputs([rec, dict(rec, id="q2")], tmp_path, TAX, "cues")


def test_unknown_polarity_and_missing_cues_are_one_line(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["decode"]["polarity"] = "cue"
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"decode\.polarity: unknown value 'cue' \(did you mean 'cues'\?\)"):
        load_eval_config(path)
    bare = dataclasses.replace(TAX, negation=None)
    with pytest.raises(ConfigError, match="exclusion.cues missing"):
        resolve(QUERY, MODEL, bare, "cues")
    assert excluded(resolve(QUERY, MODEL, bare, "model")) == ["tom hanks"]
