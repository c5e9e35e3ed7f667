"""synth/paraphrase.py over real HTTP: a scripted server for every refusal reason, the whole pipeline with
the stage on, and llama.cpp's server as a real LLM."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from servers import FaultServer, LlamaServer

from schemas import load_taxonomy, record_schema
from schemas.config import ConfigError
from synth.config import load_data_config
from synth.paraphrase import CACHE_FILE, Paraphraser, chosen, load_paraphrase_config
from synth.pipeline import build_dataset

TAX = load_taxonomy()
ROOT = Path(__file__).resolve().parents[2]
VALID = jsonschema.Draft202012Validator(record_schema(TAX))


def record(rid: str, query: str, intent: str, *ents: tuple[str, str], split: str = "train") -> dict:
    entities = []
    for etype, value in ents:
        start = query.index(value)
        entities.append({"type": etype, "value": value, "start": start, "end": start + len(value)})
    return {"id": rid, "query": query, "intent": intent, "entities": entities, "split": split,
            "meta": {"template_id": "t-1", "backend": "grammar", "seed_title": None}}


def endpoint(base_url: str, **over: object) -> dict:
    return {"base_url": base_url, "model": "m", "api_key_env": None, "response_format": "json_object_schema",
            "max_retries": 1, "backoff_base_s": 0.01, "backoff_max_s": 0.05, "concurrency": 1, **over}


def stage(base_url: str, cache: Path | None, share: float = 1.0, **over: object) -> Paraphraser:
    cfg = load_paraphrase_config({"share": share, "openai": endpoint(base_url, **over)}, "r.yml: paraphrase")
    return Paraphraser(cfg, TAX, seed=13, cache_dir=cache, progress=False)


def query_of(body: dict) -> str:
    return re.search(r"^Query: (.*)$", body["messages"][1]["content"], re.M).group(1)


RECORDS = [
    record("a", "movies with tom hanks", "recommend", ("actor", "tom hanks")),
    record("b", "play heat on netflix", "play", ("title", "heat"), ("platform", "netflix")),
    record("c", "something scary", "recommend", ("mood", "scary")),
    record("d", "is dune any good", "title_info", ("title", "dune")),
    record("e", "comedies from 1999", "recommend", ("genre", "comedies"), ("year", "1999")),
    record("f", "where can i stream alien", "where_to_watch", ("title", "alien")),
    record("g", "tell me a joke", "out_of_scope"),
]
ANSWERS = {
    "movies with tom hanks": "any good films starring Tom Hanks?",           # kept: case follows the text
    "play heat on netflix": "put on heat please",                             # dropped netflix
    "something scary": "Something scary",                                      # only case changed
    "is dune any good": "not json at all",
    "comedies from 1999": "any good films starring Tom Hanks?",              # duplicates a's rewrite
    "where can i stream alien": "alien or alien, where is alien streaming",   # value three times
    "tell me a joke": "could you tell me something funny",                    # no values: kept
}


@pytest.fixture
def scripted(fault_server: FaultServer) -> FaultServer:
    def answer(body: dict) -> str:
        text = ANSWERS[query_of(body)]
        return text if text == "not json at all" else json.dumps({"query": text})
    fault_server.answer = answer
    return fault_server


def test_each_refusal_is_counted_and_keeps_the_original(scripted: FaultServer, tmp_path: Path):
    para = stage(scripted.base_url, tmp_path)
    out = para.run([dict(r) for r in RECORDS])
    by_id = {r["id"]: r for r in out}
    assert [r["id"] for r in out] == [r["id"] for r in RECORDS]  # order and size kept
    a = by_id["a"]
    assert a["query"] == "any good films starring Tom Hanks?"
    assert a["entities"] == [{"type": "actor", "value": "Tom Hanks", "start": 24, "end": 33}]
    assert a["meta"]["paraphrased"] is True and a["meta"]["original_query"] == "movies with tom hanks"
    assert by_id["g"]["query"] == "could you tell me something funny" and by_id["g"]["entities"] == []
    for rid in "bcdef":
        assert by_id[rid] == next(r for r in RECORDS if r["id"] == rid), rid
    assert para.rejections == {"value_not_in_query:platform": 1, "unchanged": 1, "invalid_json": 1,
                               "duplicate": 1, "ambiguous_span:title": 1}
    summary = para.summary()
    assert (summary["asked"], summary["rewritten"], summary["rewrite_rate"]) == (7, 2, round(2 / 7, 4))
    assert summary["usage"]["requests"] == 7 and summary["openai"]["api_key_env"] is None
    for r in out:
        VALID.validate(r)


def test_rerun_is_answered_from_the_cache(scripted: FaultServer, tmp_path: Path):
    first = stage(scripted.base_url, tmp_path).run([dict(r) for r in RECORDS])
    seen = len(scripted.requests)
    assert (tmp_path / CACHE_FILE).is_file() and seen == 7
    again = stage(scripted.base_url, tmp_path)
    assert again.run([dict(r) for r in RECORDS]) == first
    assert len(scripted.requests) == seen  # no HTTP the second time


def test_share_and_splits_pick_a_seeded_subset(scripted: FaultServer, tmp_path: Path):
    picks = [chosen(f"r{i:05d}", 13, 0.3) for i in range(4000)]
    assert 0.27 < sum(picks) / 4000 < 0.33
    assert picks == [chosen(f"r{i:05d}", 13, 0.3) for i in range(4000)]
    assert picks != [chosen(f"r{i:05d}", 14, 0.3) for i in range(4000)]
    cfg = load_paraphrase_config({"share": 1.0, "splits": ["heldout"], "openai": endpoint(scripted.base_url)},
                                 "r.yml: paraphrase")
    held = [dict(r, split="heldout") if r["id"] == "a" else dict(r) for r in RECORDS]
    out = Paraphraser(cfg, TAX, 13, tmp_path, progress=False).run(held)
    assert len(scripted.requests) == 1 and out[0]["meta"].get("paraphrased") is True


def test_broken_bodies_are_refusals_by_reason_and_keep_the_original(fault_server: FaultServer, tmp_path: Path):
    broken = {"movies with tom hanks": ("raw", "{}"),
              "play heat on netflix": ("huge", 2_000_000, "close"),
              "something scary": ("raw", '{"choices": [{"message": {"content": null}}]}')}
    fault_server.answer = lambda body: broken.get(query_of(body)) or json.dumps({"query": "x"})
    para = stage(fault_server.base_url, tmp_path)
    records = [dict(r) for r in RECORDS[:3]]
    assert para.run(records) == records
    assert para.rejections == {"malformed_response": 1, "response_too_large": 1, "empty_response": 1}
    assert para.summary()["usage"]["errors"] == para.rejections


def test_plain_http_to_a_remote_host_is_refused_at_load(monkeypatch):
    monkeypatch.setenv("MI_TEST_API_KEY", "sk-test-not-for-clear-text")
    block = {"share": 0.3, "openai": {"base_url": "http://llm.example.com/v1", "model": "m",
                                      "api_key_env": "MI_TEST_API_KEY"}}
    with pytest.raises(ConfigError) as err:
        load_paraphrase_config(block, "r.yml: paraphrase")
    assert err.value.problems == ["r.yml: paraphrase.openai.base_url: 'http://llm.example.com/v1' is plain http "
                                  "to a non-local host and would send the API key in clear text: use https://, "
                                  "or set allow_insecure_http: true to accept that"]
    block["openai"]["allow_insecure_http"] = True
    assert load_paraphrase_config(block, "r.yml: paraphrase").client.allow_insecure_http


@pytest.mark.parametrize("block, expected", [
    ({"share": 1.5, "openai": {"base_url": "http://x/v1", "model": "m"}}, "paraphrase.share: must be a number in [0, 1]"),
    ({"share": 0.3}, "paraphrase.openai: share > 0 needs an endpoint"),
    ({"share": 0.3, "splits": ["train", "dev"], "openai": {"base_url": "http://x/v1", "model": "m"}},
     "paraphrase.splits: must be a non-empty list"),
    ({"share": 0.3, "shares": 1}, "paraphrase: unknown key 'shares' (did you mean 'share'?)"),
    ({"share": 0.3, "openai": {"base_url": "http://x/v1"}}, "paraphrase.openai: 'model' is required"),
    ({"share": 0.3, "max_growth": 0.5, "openai": {"base_url": "http://x/v1", "model": "m"}},
     "paraphrase.max_growth: must be a number >= 1"),
])
def test_bad_blocks_are_one_line_each_at_load(block: dict, expected: str, tmp_path: Path):
    with pytest.raises(ConfigError) as err:
        load_data_config(ROOT / "recipes/data/default.yml", {"paraphrase": block, "out": str(tmp_path / "x")})
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_pipeline_with_the_stage_on(fault_server: FaultServer, tmp_path: Path):
    """Grammar records, then a scripted rewriter that prefixes "hey, ": the right share is rewritten,
    every record stays valid and grounded, and the manifest accounts for each request."""
    fault_server.answer = lambda body: json.dumps({"query": "hey, " + query_of(body)})
    out = tmp_path / "ds"
    block = {"share": 0.25, "splits": ["train", "heldout"], "openai": endpoint(fault_server.base_url)}
    cfg = load_data_config(ROOT / "recipes/data/default.yml", {"n": 400, "out": str(out), "paraphrase": block})
    manifest = build_dataset(cfg, progress=False)
    records = [json.loads(line) for s in ("train", "validation", "test", "heldout")
               for line in (out / f"{s}.jsonl").read_text().splitlines()]
    rewritten = [r for r in records if r["meta"].get("paraphrased")]
    para = manifest["paraphrase"]
    assert len(records) == 400 and para["asked"] == len(fault_server.requests)
    assert para["rewritten"] == len(rewritten) and para["rewritten"] + sum(para["rejections"].values()) == para["asked"]
    assert 0.15 < para["asked"] / sum(r["split"] in ("train", "heldout") for r in records) < 0.35
    assert {r["split"] for r in rewritten} <= {"train", "heldout"} and len(rewritten) > 0.8 * para["asked"]
    for r in records:
        VALID.validate(r)
        assert all(r["query"][e["start"]:e["end"]] == e["value"] for e in r["entities"]), r
    assert all(r["query"] == "hey, " + r["meta"]["original_query"] for r in rewritten)
    assert (out / CACHE_FILE).is_file()
    assert manifest["config"]["paraphrase"]["share"] == 0.25


@pytest.mark.server
def test_llama_server_rewrites_keep_every_value(llama_server: LlamaServer, tmp_path: Path):
    """A real 135M model: its rewrites are often refused, which is the point of the checks; the ones kept
    hold every value verbatim at its span, and the counts add up."""
    para = stage(llama_server.base_url, tmp_path, model=llama_server.model, temperature=0.0, max_tokens=48,
                 concurrency=2)
    out = para.run([dict(r) for r in RECORDS])
    s = para.summary()
    assert s["asked"] == len(RECORDS) and s["rewritten"] + sum(s["rejections"].values()) == len(RECORDS)
    assert not {"http_error", "schema_violation"} & set(s["rejections"]), s["rejections"]
    for before, after in zip(RECORDS, out, strict=True):
        VALID.validate(after)
        assert [(e["type"], e["value"].lower()) for e in after["entities"]] == \
               [(e["type"], e["value"].lower()) for e in before["entities"]]
        assert all(after["query"][e["start"]:e["end"]] == e["value"] for e in after["entities"])
