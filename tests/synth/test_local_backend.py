"""The `local` synth backend: config checks, prompts, grammars, and real SmolLM2 generation."""

from __future__ import annotations

import json

import pytest
import xgrammar as xgr

from schemas import ConfigError, load_taxonomy
from synth.backends.local import LocalBackend, check_config, values_ebnf
from synth.types import Frame, Slot

TAX = load_taxonomy()
FRAMES = [
    Frame("f1", "recommend", "t1", (Slot("genre", "genre", "science fiction"), Slot("mood", "mood", "dark")),
          "train"),
    Frame("f2", "title_info", "t2", (Slot("title", "title", "The Matrix"),), "train"),
    Frame("f3", "where_to_watch", "t3", (Slot("title", "title", "Amélie"), Slot("platform", "platform", "Netflix")),
          "train"),
    Frame("f4", "similar_to", "t4", (Slot("title", "title", "Dune"), Slot("mood", "mood", "cozy")), "train"),
]


def test_config_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as err:
        check_config({"batch_sise": 4, "constrain": "grammar", "max_new_tokens": 0, "model": "/no/such/dir"},
                     "recipes/data/x.yml: local")
    assert err.value.problems == [
        "recipes/data/x.yml: local: unknown key 'batch_sise' (did you mean 'batch_size'?)",
        "recipes/data/x.yml: local.max_new_tokens: expected an integer >= 1, got 0",
        "recipes/data/x.yml: local.constrain: 'grammar' is not one of schema, values",
        "recipes/data/x.yml: local.model: directory '/no/such/dir' not found",
    ]
    assert check_config({})["constrain"] == "schema"


def test_prompt_shows_a_taxonomy_demo_then_the_frame_values() -> None:
    messages = LocalBackend({}, TAX).prompt(FRAMES[2])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    demo = json.loads(messages[2]["content"])
    assert all(e["value"] in demo["query"] for e in demo["entities"])
    assert "where_to_watch" in messages[3]["content"]
    assert "- title: Amélie" in messages[3]["content"] and "- platform: Netflix" in messages[3]["content"]


def test_values_grammar_forces_every_value_in_slot_order() -> None:
    compiler = xgr.GrammarCompiler(xgr.TokenizerInfo(["a", "b", "</s>"], stop_token_ids=[2]))
    grammar = compiler.compile_grammar(values_ebnf(FRAMES[2], 60))

    def accepts(text: str) -> bool:
        matcher = xgr.GrammarMatcher(grammar)
        return matcher.accept_string(text) and matcher.is_completed()

    assert accepts('{"query":"is Amélie on Netflix"}')
    assert accepts('{"query":"Amélie Netflix"}')
    assert not accepts('{"query":"is Amelie on Netflix"}')
    assert not accepts('{"query":"Netflix: Amélie"}')
    assert not accepts('{"query":"' + "x" * 40 + 'Amélie on Netflix"}')  # filler bound (60 - 13) // 3


def test_real_model_writes_queries_for_frames() -> None:
    backend = LocalBackend({"batch_size": 4, "max_new_tokens": 96, "threads": 1}, TAX, progress=False)
    out = list(backend.realize(FRAMES))
    assert [r.frame.id for r in out] == [f.id for f in FRAMES]
    good = [r for r in out if r.error is None]
    assert len(good) >= 2, [(r.error, r.usage) for r in out]
    assert all(r.query and r.query == r.query.strip() for r in good)
    summary = backend.usage_summary()
    assert summary["usage"]["queries"] == 4 and summary["usage"]["completion_tokens"] > 0
    assert sum(summary["rejections"].values()) == len(out) - len(good)
    # The values grammar puts every frame value into the query verbatim.
    values = LocalBackend({"batch_size": 2, "max_new_tokens": 96, "max_query_chars": 60, "threads": 1,
                           "constrain": "values"}, TAX, progress=False)
    values._model = backend._model  # same weights; skip a second load
    for r in values.realize(FRAMES[1:3]):
        assert r.error is None, r
        assert all(s.value in r.query for s in r.frame.slots), r.query
        assert r.entities == [{"type": s.type, "value": s.value} for s in r.frame.slots]
