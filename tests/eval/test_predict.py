"""eval.predict: scoring of raw outputs, the prompts, and real runs (SmolLM2 locally, an HTTP server for
the served path) that write the long-form table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import jsonschema
import pytest

from basemodel.smollm2 import ensure_smollm2
from eval.predict import (
    manifest_system_prompt,
    predict_openai,
    predict_records,
    score_output,
    zero_shot_system_prompt,
)
from schemas import ConfigError, extraction_json, extraction_schema, load_taxonomy
from schemas.examples import worked_example

TAX = load_taxonomy()
SYSTEM = "Extract the search intent and entities as JSON."
VALIDATOR = jsonschema.Draft202012Validator(extraction_schema(TAX))
GOLD = [  # (query, intent, [(type, value)])
    ("who directed Parasite", "title_info", [("title", "Parasite")]),
    ("any uplifting comedies from the 90s?", "recommend", [("mood", "uplifting"), ("year", "the 90s")]),
    ('is "Amélie" on Netflix', "where_to_watch", [("title", "Amélie"), ("platform", "Netflix")]),
    ("play Inception", "play", [("title", "Inception")]),
    ("what's the weather in Paris tomorrow", "out_of_scope", []),
    ("a Korean thriller for a date night", "recommend", [("language", "Korean"), ("audience", "a date night")]),
    ("shows similar to Dark with time travel", "similar_to", [("title", "Dark"), ("plot", "time travel")]),
    ("when did Breaking Bad come out", "title_info", [("title", "Breaking Bad")]),
]


def make_records(n: int = len(GOLD)) -> list[dict[str, Any]]:
    records = []
    for k, (query, intent, ents) in enumerate(GOLD[:n]):
        spans = [{"type": t, "value": v, "start": query.index(v), "end": query.index(v) + len(v)} for t, v in ents]
        records.append({"id": f"q{k}", "query": query, "intent": intent, "entities": spans, "split": "test",
                        "meta": {}})
    return records


def rows(path: Path, where: str = "true") -> list[tuple]:
    return duckdb.sql(f"select id, source, field, value, status from read_parquet('{path}') where {where} "
                      "order by all").fetchall()


# --- scoring ------------------------------------------------------------------------------------------

def test_score_output_statuses_and_dropped_values() -> None:
    q = "Any uplifting comedies from the 90s?"
    assert score_output('{"intent":', True, q, VALIDATOR).status == "truncated"
    assert score_output("Sure! Here are some comedies", False, q, VALIDATOR).status == "invalid_json"
    assert score_output('{"intent":"chitchat","entities":[]}', False, q, VALIDATOR).status == "schema_violation"
    text = extraction_json("recommend", [{"type": "mood", "value": "UPLIFTING"}, {"type": "genre", "value": "drama"},
                                         {"type": "year", "value": "the 90s"}, {"type": "year", "value": "the 90s"}])
    s = score_output(text, False, q, VALIDATOR)
    assert s.status == "ok" and s.ungrounded == 1 and s.duplicates == 1
    # the raw output is what gets scored: the ungrounded 'drama' stays, a false positive
    assert s.pred == {"intent": "recommend", "entities": [
        {"type": "mood", "value": "UPLIFTING"}, {"type": "genre", "value": "drama"},
        {"type": "year", "value": "the 90s"}, {"type": "year", "value": "the 90s"}]}


# --- prompts ------------------------------------------------------------------------------------------

def test_zero_shot_prompt_lists_the_taxonomy_and_a_valid_worked_example() -> None:
    prompt = zero_shot_system_prompt(TAX)
    for name in TAX.intent_names + TAX.entity_names:
        assert f"- {name}: " in prompt, name
    ex = worked_example(TAX)
    answer = json.loads(ex["answer"])
    assert VALIDATOR.is_valid(answer) and len(answer["entities"]) >= 2
    assert all(e["value"] in ex["query"] for e in answer["entities"])
    assert ex["answer"] in prompt and ex["query"] in prompt


def test_manifest_system_prompt(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"system_prompt": SYSTEM}))
    assert manifest_system_prompt(tmp_path) == SYSTEM
    with pytest.raises(ConfigError, match=r"nowhere/manifest\.json: file not found; build the dataset"):
        manifest_system_prompt(tmp_path / "nowhere")
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match="key 'system_prompt' missing"):
        manifest_system_prompt(tmp_path)


# --- local model --------------------------------------------------------------------------------------

def test_grounded_predictions_table_with_real_weights(tmp_path: Path) -> None:
    records = make_records()
    # One entity of <= 16 chars bounds an output to ~92 bytes, so 96 tokens always suffice.
    path = predict_records(records, ensure_smollm2(), None, SYSTEM, "grounded", 8, 96, tmp_path, TAX,
                           max_value_chars=16, max_entities=1, threads=1)
    assert path == tmp_path / "predictions.parquet"
    gold = {(r["id"], "gold", "intent", r["intent"], None) for r in records}
    gold |= {(r["id"], "gold", e["type"], e["value"], None) for r in records for e in r["entities"]}
    assert set(rows(path, "source = 'gold'")) == gold
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == {"ok": 8, "invalid_json": 0, "schema_violation": 0, "truncated": 0}
    assert summary["ungrounded_values"] == 0 and summary["queries_per_s"] > 0
    outputs = [json.loads(line) for line in (tmp_path / "outputs.jsonl").read_text().splitlines()]
    assert [o["id"] for o in outputs] == [r["id"] for r in records]
    for rec, out in zip(records, outputs, strict=True):
        pred = json.loads(out["text"])  # every raw output parses, validates and is grounded
        assert VALIDATOR.is_valid(pred) and all(e["value"] in rec["query"] for e in pred["entities"])
    pred_intents = rows(path, "source = 'pred' and field = 'intent'")
    assert len(pred_intents) == 8 and all(r[3] in TAX.intent_names and r[4] == "ok" for r in pred_intents)


def test_schema_and_unconstrained_modes_count_statuses(tmp_path: Path) -> None:
    records = make_records(6)
    # schema: one value of <= 12 chars (<= 48 bytes) bounds an output below 128 tokens.
    predict_records(records, ensure_smollm2(), None, SYSTEM, "schema", 6, 128, tmp_path / "schema", TAX,
                    max_value_chars=12, max_entities=1, threads=1)
    summary = json.loads((tmp_path / "schema" / "summary.json").read_text())
    assert summary["status"]["ok"] == 6, summary  # 100% valid under the schema
    # none: 6 tokens of prose is never a complete extraction; it is a status, not a crash.
    path = predict_records(records[:2], ensure_smollm2(), None, None, "none", 2, 6, tmp_path / "none", TAX,
                           threads=1)
    summary = json.loads((tmp_path / "none" / "summary.json").read_text())
    assert summary["status"]["ok"] == 0 and sum(summary["status"].values()) == 2
    assert {r[4] for r in rows(path, "source = 'pred'")} <= {"invalid_json", "truncated"}
    with pytest.raises(ValueError, match="unknown decoding mode 'json'"):
        predict_records(records, ensure_smollm2(), None, SYSTEM, "json", 2, 6, tmp_path / "bad", TAX)


# --- served model -------------------------------------------------------------------------------------

def test_predict_openai_scores_a_served_model(fault_server: Any, tmp_path: Path) -> None:
    from apiclient import ClientConfig

    records = make_records(4)

    def answer(body: dict[str, Any]) -> str:
        query = body["messages"][-1]["content"]
        if query.startswith("who"):
            return extraction_json("title_info", [{"type": "title", "value": "Parasite"},
                                                  {"type": "director", "value": "Bong Joon-ho"}])
        if query.startswith("any"):
            return "I would suggest some comedies."
        if query.startswith("is"):
            return '{"intent":"where_to_watch","entities":[{"type":"streaming","value":"Netflix"}]}'
        return extraction_json("play", [{"type": "title", "value": "Inception"}])

    fault_server.answer = answer
    cfg = ClientConfig(base_url=fault_server.base_url, model="served", api_key_env=None, max_retries=0)
    path = predict_openai(records, cfg, SYSTEM, tmp_path, TAX, progress=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == {"ok": 2, "invalid_json": 1, "schema_violation": 1, "truncated": 0}
    assert summary["ungrounded_values"] == 1  # "Bong Joon-ho" is not in the query; kept and scored
    assert rows(path, "source = 'pred' and id = 'q0'") == [("q0", "pred", "director", "Bong Joon-ho", "ok"),
                                                          ("q0", "pred", "intent", "title_info", "ok"),
                                                          ("q0", "pred", "title", "Parasite", "ok")]
    sent = fault_server.requests[0]["body"]
    assert sent["temperature"] == 0.0 and sent["response_format"]["type"] == "json_schema"
    assert sent["messages"][0] == {"role": "system", "content": SYSTEM}
    # A rerun is answered from the cache, without HTTP.
    predict_openai(records, cfg, SYSTEM, tmp_path, TAX, progress=False)
    assert len(fault_server.requests) == 4


# --- prediction cache key -----------------------------------------------------------------------------

def test_cached_predictions_are_keyed_on_labels_taxonomy_and_training_data(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """eval's cache reuses predictions.parquet only for identical records (labels too), taxonomy and
    training data: a label-only change used to reuse stale gold rows (the key held ids and queries)."""
    import copy
    import dataclasses

    from fabricate import make_records as fabricated

    from eval.baselines import Baseline
    from eval.config import load_eval_config
    from eval.pipeline import predict

    cfg = load_eval_config()
    train, test = fabricated(TAX, 60, "train", seed=1), fabricated(TAX, 10, "test", seed=2)
    baseline = Baseline(TAX, cfg.baseline).fit(train)

    def run(records: list[dict[str, Any]], tax: Any = TAX, fitted: Baseline = baseline) -> bool:
        predict("baseline", records, tmp_path, cfg, {}, fitted, tax, force=False)
        return "reusing" in capsys.readouterr().out

    assert not run(test) and run(test)
    other = next(i for i in TAX.intent_names if i != test[0]["intent"])
    relabelled = [dict(test[0], intent=other), *test[1:]]  # same ids, same queries
    assert not run(relabelled)
    assert rows(tmp_path / "predictions.parquet", f"source = 'gold' and field = 'intent' and id = '{test[0]['id']}'"
                )[0][3] == other
    renamed = copy.deepcopy(TAX)
    first = TAX.intent_names[0]
    renamed.intents[first] = dataclasses.replace(renamed.intents[first], description="renamed meaning")
    assert not run(relabelled, renamed) and run(relabelled, renamed)
    refit = Baseline(renamed, cfg.baseline).fit(fabricated(TAX, 60, "train", seed=3))
    assert not run(relabelled, renamed, refit)
