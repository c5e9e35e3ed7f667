"""decoding.parser: outputs become spans with offsets into the query as sent; run folders are checked in
one line before any model loads; decode.engine is validated where eval/config.yml is read."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from decoding.parser import DecodeSettings, chat_prompt, read_run, to_spans
from eval.config import DEFAULT_CONFIG, load_eval_config
from schemas import ConfigError, extraction_schema, load_taxonomy
from synth.writer import chat_example

TAX = load_taxonomy()
VALIDATOR = jsonschema.Draft202012Validator(extraction_schema(TAX, max_value_chars=80, max_entities=8))


def out(intent: str, *ents: tuple[str, str]) -> str:
    return json.dumps({"intent": intent, "entities": [{"type": t, "value": v} for t, v in ents]})


def test_spans_index_the_query_as_sent() -> None:
    query = 'is "Amélie" on Netflix or Amélie 2'
    parsed = to_spans(query, out("where_to_watch", ("title", "Amélie"), ("platform", "Netflix"),
                                 ("title", "Amélie 2")), False, VALIDATOR)
    assert parsed["status"] == "ok" and parsed["intent"] == "where_to_watch"
    assert [(e["start"], e["end"]) for e in parsed["entities"]] == [(4, 10), (15, 22), (26, 34)]
    assert all(query[e["start"]:e["end"]] == e["value"] for e in parsed["entities"])


def test_ungrounded_duplicate_and_broken_outputs() -> None:
    query = "play Inception"
    parsed = to_spans(query, out("play", ("title", "Inception"), ("title", "Inception"), ("title", "Tenet")),
                      False, VALIDATOR)
    assert parsed["entities"] == [{"type": "title", "value": "Inception", "start": 5, "end": 14, "exclude": False}]
    assert to_spans(query, '{"intent":"pl', True, VALIDATOR)["status"] == "truncated"
    assert to_spans(query, "Sure! Here", False, VALIDATOR)["status"] == "invalid_json"
    assert to_spans(query, out("dance"), False, VALIDATOR)["status"] == "schema_violation"


def test_exclusions_and_canonical_values_of_closed_types() -> None:
    query = "not on netflix, a tv show without Tom Cruise"
    raw = json.dumps({"intent": "recommend", "entities": [
        {"type": "platform", "exclude": True, "value": "netflix"}, {"type": "media_type", "value": "tv show"},
        {"type": "actor", "exclude": True, "value": "Tom Cruise"}]})
    ents = to_spans(query, raw, False, VALIDATOR, TAX)["entities"]
    assert [(e["type"], e["exclude"], e.get("canonical")) for e in ents] == [
        ("platform", True, "Netflix"), ("media_type", False, "series"), ("actor", True, None)]
    assert "canonical" not in ents[2]  # an open type has no canonical value


def test_run_folder_problems_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"run_card\.json: file not found; pass a run folder"):
        read_run(tmp_path)
    card = {"resolved_config": {"base_model": str(tmp_path / "nowhere")}, "data": {"system_prompt": "x"}}
    (tmp_path / "run_card.json").write_text(json.dumps(card))
    with pytest.raises(ConfigError, match="is not a model directory; build it with make model"):
        read_run(tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    card["resolved_config"]["base_model"] = str(tmp_path / "model")
    (tmp_path / "run_card.json").write_text(json.dumps(card))
    with pytest.raises(ConfigError, match="no adapter_model.safetensors or adapter_config.json") as err:
        read_run(tmp_path)
    assert "\n" not in str(err.value)
    for f in ("adapter_model.safetensors", "adapter_config.json"):
        (tmp_path / f).write_text("{}")
    assert read_run(tmp_path) == (tmp_path / "model", "x")


def test_chat_prompt_is_the_training_rows_prompt() -> None:
    """Inference sends the turns a training row carries before the answer, for a short, an empty and no
    system prompt (an empty one used to send an empty system turn that training rows never had)."""
    rec = {"query": "q", "intent": "play", "entities": []}
    for system in ("Extract.", ""):
        assert chat_prompt(system, "q") == chat_example(rec, system)["messages"][:-1]
    assert chat_prompt(None, "q") == [{"role": "user", "content": "q"}]


def test_decode_engine_is_a_checked_setting(tmp_path: Path) -> None:
    cfg = load_eval_config()
    assert cfg.decode.engine == "fast" and DecodeSettings.of(cfg.decode).engine == "fast"
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["decode"]["engine"] = "fsat"
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"decode\.engine: unknown engine 'fsat' \(did you mean 'fast'\?\); "
                                          "choose from fast, hf, vllm"):
        load_eval_config(path)
