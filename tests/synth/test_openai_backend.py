"""synth/backends/openai_backend.py over real HTTP: a scripted server for faults, llama.cpp for a real LLM."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest
from servers import FaultServer, LlamaServer

from schemas import load_taxonomy
from schemas.config import ConfigError
from synth.backends.openai_backend import PROMPTS_DIR, OpenAIBackend, realization_schema, rotate
from synth.types import Frame, Slot

TAX = load_taxonomy()


def frames_from_taxonomy(n: int, start: int = 0) -> list[Frame]:
    """Frames that respect each intent's rules, values taken from the taxonomy's own examples."""
    intents = list(TAX.intents.values())
    frames = []
    for i in range(start, start + n):
        intent = intents[i % len(intents)]
        rules = intent.rules
        if rules.max_entities == 0:
            types: list[str] = []
        elif rules.requires_any:
            types = [rules.requires_any[0]]
        else:
            allowed = [t for t in TAX.entity_names if t not in rules.forbids]
            types = [allowed[i % len(allowed)], allowed[(i + 3) % len(allowed)]]
        slots = tuple(Slot(f"{t}{k}", t, TAX.entity_types[t].examples[0]) for k, t in enumerate(types))
        frames.append(Frame(f"f{i:06d}", intent.name, "llm", slots, "train"))
    return frames


def backend_for(base_url: str, model: str = "test-model", out_dir: Path | None = None,
                **cfg: object) -> OpenAIBackend:
    base = {"base_url": base_url, "model": model, "api_key_env": None, "response_format": "json_object_schema",
            "backoff_base_s": 0.01, "backoff_max_s": 0.05, "max_retries": 1}
    return OpenAIBackend({**base, **cfg}, TAX, out_dir=out_dir, seed=1, progress=False)


# --- prompts and schema ---------------------------------------------------------------------------------

def test_prompt_carries_intent_values_and_types():
    backend = backend_for("http://127.0.0.1:9/v1")
    assert {p.name for p in PROMPTS_DIR.glob("openai_*.jinja")} == {"openai_system.jinja", "openai_user.jinja"}
    for i, frame in enumerate(frames_from_taxonomy(len(TAX.intents))):
        system, user = backend.prompt(frame, i)
        assert system["role"] == "system" and user["role"] == "user"
        assert all(f"- {name}: " in system["content"] for name in TAX.entity_names)
        intent = TAX.intents[frame.intent]
        assert f"Intent: {intent.name}: {intent.description}" in user["content"]
        assert all(example in user["content"] for example in intent.examples)
        assert all(f"- {s.type}: {s.value}\n" in user["content"] + "\n" for s in frame.slots)
        if not frame.slots:
            assert "No values" in user["content"]
        assert "{{" not in user["content"] + system["content"]


def test_few_shot_examples_rotate_through_every_example_before_repeating():
    assert rotate(list("abcde"), 2, 0) == ["a", "b"] and rotate(list("abcde"), 2, 2) == ["e", "a"]
    pool = [q for i in TAX.intents.values() for q in i.examples]
    backend = backend_for("http://127.0.0.1:9/v1", few_shot=3)
    frame = frames_from_taxonomy(1)[0]
    shown: list[str] = []
    for index in range(-(-len(pool) // 3)):
        user = backend.prompt(frame, index)[1]["content"]
        shown += [line.split(") ", 1)[1] for line in user.splitlines() if line.startswith("- (")]
    assert sorted(shown[:len(pool)]) == sorted(pool)  # each once before any repeat
    assert backend.prompt(frame, 5) == backend_for("http://127.0.0.1:9/v1", few_shot=3).prompt(frame, 5)


def test_answer_schema_is_strict_and_comes_from_the_taxonomy():
    schema = realization_schema(TAX)
    jsonschema.Draft202012Validator.check_schema(schema)
    item = schema["properties"]["entities"]["items"]
    assert item["properties"]["type"]["enum"] == TAX.entity_names
    for obj in (schema, item):
        assert obj["required"] == list(obj["properties"]) and obj["additionalProperties"] is False
    assert realization_schema(TAX, 50)["properties"]["query"]["maxLength"] == 50


def test_config_errors_are_reported_together(monkeypatch):
    data = {"base_url": "http://127.0.0.1:8080/v1", "few_shots": 2, "max_string_chars": 0, "concurrency": "x"}
    with pytest.raises(ConfigError) as err:
        OpenAIBackend(data, TAX, where="recipes/data/llm.yml: openai")
    text = str(err.value)
    assert "unknown key 'few_shots' (did you mean 'few_shot'?)" in text
    assert "max_string_chars: expected an integer >= 1" in text
    assert "'model' is required" in text and "concurrency: expected a number" in text
    folder = backend_for("http://127.0.0.1:9/v1", out_dir=Path("out"), cache_dir="elsewhere").cache_path
    assert folder == Path("elsewhere/openai_cache.sqlite")  # cache_dir wins over the output folder
    monkeypatch.delenv("MI_TEST_UNSET_KEY", raising=False)
    with pytest.raises(ConfigError, match="MI_TEST_UNSET_KEY"):  # before any request is made
        OpenAIBackend({"base_url": "https://api.example.com/v1", "model": "m",
                       "api_key_env": "MI_TEST_UNSET_KEY"}, TAX, where="x.yml: openai")


# --- faults, counted by reason --------------------------------------------------------------------------

def test_bad_answers_are_counted_by_reason(fault_server: FaultServer, tmp_path):
    frames = frames_from_taxonomy(5)  # five different intents: the server routes on the intent line
    good = frames[0]
    good_value = good.slots[0].value
    by_intent = {
        good.intent: json.dumps({"query": f"anything with {good_value}",
                                 "entities": [{"type": good.slots[0].type, "value": good_value}]}),
        frames[1].intent: "Sure! Here is your query: ...",
        frames[2].intent: '{"query": "x", "entities": [{"type": "not-a-label", "value": "x"}]}',
        frames[3].intent: '{"query": "  ", "entities": []}',
        frames[4].intent: ("status", 500),
    }
    assert len(by_intent) == 5

    def answer(body: dict) -> str | tuple:
        first_line = body["messages"][1]["content"].splitlines()[0]
        return next(v for k, v in by_intent.items() if first_line.startswith(f"Intent: {k}:"))

    fault_server.answer = answer
    backend = backend_for(fault_server.base_url, out_dir=tmp_path, concurrency=1)
    out = {r.frame.id: r for r in backend.realize(frames)}
    assert set(out) == {f.id for f in frames}
    assert out[good.id].error is None and out[good.id].query == f"anything with {good_value}"
    assert out[good.id].entities == [{"type": good.slots[0].type, "value": good_value}]
    assert [out[f.id].error for f in frames[1:]] == ["invalid_json", "schema_violation", "empty_query",
                                                     "http_error"]
    assert "HTTP 500" in out[frames[4].id].usage["error_detail"]
    assert backend.rejections == {"invalid_json": 1, "schema_violation": 1, "empty_query": 1, "http_error": 1}
    summary = backend.usage_summary()
    assert summary["rejections"] == dict(backend.rejections) and summary["usage"]["requests"] == 5
    assert summary["config"]["few_shot"] == 3 and summary["config"]["api_key_env"] is None


def test_broken_bodies_are_rejections_by_reason_and_the_run_goes_on(fault_server: FaultServer, tmp_path):
    """A 200 with a null message, one with a 2 MB answer, one with no content: each frame is refused under
    its own reason; the other frames are realized and cached."""
    frames = frames_from_taxonomy(5)
    faults = {frames[0].intent: ("raw", '{"choices": [{"message": null}]}'),
              frames[1].intent: ("huge", 2_000_000, "length"),
              frames[2].intent: ("raw", '{"choices": [{"message": {"content": null}}]}')}

    def answer(body: dict) -> str | tuple:
        first_line = body["messages"][1]["content"].splitlines()[0]
        fault = next((v for k, v in faults.items() if first_line.startswith(f"Intent: {k}:")), None)
        return fault or json.dumps({"query": "something to watch", "entities": []})

    fault_server.answer = answer
    backend = backend_for(fault_server.base_url, out_dir=tmp_path, concurrency=2)
    out = {r.frame.id: r for r in backend.realize(frames)}
    assert [out[f.id].error for f in frames[:3]] == ["malformed_response", "response_too_large",
                                                     "empty_response"]
    assert "choices[0].message" in out[frames[0].id].usage["error_detail"]
    assert backend.rejections["malformed_response"] == 1 and backend.rejections["response_too_large"] == 1
    usage = backend.usage_summary()["usage"]
    assert usage["errors"] == {"malformed_response": 1, "response_too_large": 1, "empty_response": 1}
    assert cached_rows(tmp_path / "openai_cache.sqlite") == 2  # the two answered frames, none of the faults


def test_plain_http_to_a_remote_host_is_a_config_error_before_any_request(monkeypatch):
    monkeypatch.setenv("MI_TEST_API_KEY", "sk-test-not-for-clear-text")
    data = {"base_url": "http://llm.example.com/v1", "model": "m", "api_key_env": "MI_TEST_API_KEY"}
    with pytest.raises(ConfigError) as err:
        OpenAIBackend(data, TAX, where="recipes/data/llm.yml: openai")
    [problem] = err.value.problems
    assert problem.startswith("recipes/data/llm.yml: openai.base_url: 'http://llm.example.com/v1' is plain http")
    assert OpenAIBackend({**data, "allow_insecure_http": True}, TAX).cfg.allow_insecure_http


# --- a real LLM behind llama.cpp's server ----------------------------------------------------------------

# The 135M model's text is poor; these tests check the plumbing (parseable JSON, cache, resume), and
# max_string_chars keeps it from looping inside a string until max_tokens runs out.
LLAMA_CFG = {"temperature": 0.0, "max_tokens": 96, "max_string_chars": 100, "few_shot": 2, "concurrency": 2}


def cached_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("select count(*) from responses").fetchone()[0]


@pytest.mark.server
def test_llama_server_realizes_frames_and_cache_makes_rerun_free(llama_server: LlamaServer, tmp_path):
    frames = frames_from_taxonomy(3)
    backend = backend_for(llama_server.base_url, llama_server.model, tmp_path, **LLAMA_CFG)
    before = llama_server.completions_served()
    first = list(backend.realize(frames))
    assert llama_server.completions_served() - before == 3
    assert sorted(r.frame.id for r in first) == [f.id for f in frames]
    parse_failures = {"invalid_json", "truncated", "schema_violation", "http_error"}
    assert not [r.error for r in first if r.error in parse_failures], backend.rejections
    assert all(isinstance(r.query, str) for r in first if r.error is None)

    again = backend_for(llama_server.base_url, llama_server.model, tmp_path, **LLAMA_CFG)
    second = list(again.realize(frames))
    assert llama_server.completions_served() - before == 3  # zero HTTP the second time
    assert all(r.usage["cached"] and r.usage["attempts"] == 0 for r in second)
    assert [(r.query, r.entities) for r in second] == [(r.query, r.entities) for r in first]
    assert again.usage_summary()["usage"]["http_requests"] == 0


@pytest.mark.server
def test_llama_interrupted_run_resumes_each_frame_once(llama_server: LlamaServer, tmp_path):
    frames = frames_from_taxonomy(5, start=10)
    cache_file = tmp_path / "openai_cache.sqlite"

    async def interrupted() -> None:
        backend = backend_for(llama_server.base_url, llama_server.model, tmp_path, **LLAMA_CFG)
        task = asyncio.create_task(backend.arealize(frames))
        while cached_rows(cache_file) < 2 and not task.done():
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    done = cached_rows(cache_file)
    assert 2 <= done < len(frames)
    backend = backend_for(llama_server.base_url, llama_server.model, tmp_path, **LLAMA_CFG)
    results = list(backend.realize(frames))
    assert sorted(r.frame.id for r in results) == sorted(f.id for f in frames)  # each exactly once
    assert sum(r.usage["cached"] for r in results) == done
    assert backend.usage_summary()["usage"]["http_requests"] == len(frames) - done
    assert cached_rows(cache_file) == len(frames)
