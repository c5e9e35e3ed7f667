"""The fast engine against the transformers path with the real SmolLM2-135M: identical outputs without
jump-forward (the batched loop, KV cache and row dropping are exact), and with it every output is still
grammar-valid and grounded while the model is asked for fewer tokens."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from basemodel.smollm2 import ensure_smollm2
from decoding.fast import _DIGIT, _LETTER, _PUNCT, FastStats, _may_merge, generate_fast
from decoding.grounded import grammars_for_mode
from decoding.hf import generate_batch, grammar_compiler, load_model
from schemas import extraction_schema, load_taxonomy

TAX = load_taxonomy()
SYSTEM = "Extract the search intent and entities as JSON."
QUERIES = [
    "who directed Parasite",
    "any uplifting comedies from the 90s for a family night?",
    'is "Amélie" on Netflix',
    "play Inception",
    "something like Spirited Away but darker",
]
BOUNDS = {"max_value_chars": 24, "max_entities": 2}


@pytest.fixture(scope="module")
def smollm2() -> tuple:
    return load_model(ensure_smollm2(), threads=1)


def chat(query: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": query}]


@pytest.fixture(scope="module")
def grounded(smollm2: tuple) -> list:
    return grammars_for_mode(grammar_compiler(*smollm2), "grounded", QUERIES, TAX, **BOUNDS)


def test_without_jump_forward_outputs_equal_the_transformers_path(smollm2: tuple, grounded: list) -> None:
    model, tok = smollm2
    prompts = [chat(q) for q in QUERIES]
    # batch 2 over 5 prompts: three batches, rows finishing at different steps are dropped mid-batch.
    ref = generate_batch(model, tok, prompts, grounded, max_new_tokens=64, batch_size=2, progress=False)
    stats = FastStats()
    fast = generate_fast(model, tok, prompts, grounded, max_new_tokens=64, batch_size=2, jump_forward=False,
                         progress=False, stats=stats, share_prefix=False)
    assert [(o.text, o.n_tokens, o.truncated) for o in fast] == [(o.text, o.n_tokens, o.truncated) for o in ref]
    assert stats.forced_tokens == 0 and stats.model_tokens == sum(o.n_tokens for o in ref)
    # The system prompt and chat template computed once and copied to every row: the same outputs.
    shared = FastStats()
    again = generate_fast(model, tok, prompts, grounded, max_new_tokens=64, batch_size=2, jump_forward=False,
                          progress=False, stats=shared)
    assert [o.text for o in again] == [o.text for o in ref]
    assert shared.shared_prefix_tokens >= 10 * 3  # three batches of two rows, >= 10 shared tokens each


def test_unconstrained_outputs_equal_the_transformers_path(smollm2: tuple) -> None:
    model, tok = smollm2
    prompts = [chat(q) for q in QUERIES[:3]]
    ref = generate_batch(model, tok, prompts, None, max_new_tokens=12, batch_size=3, progress=False)
    fast = generate_fast(model, tok, prompts, None, max_new_tokens=12, batch_size=3, progress=False)
    assert [(o.text, o.n_tokens, o.truncated) for o in fast] == [(o.text, o.n_tokens, o.truncated) for o in ref]


def test_jump_forward_stays_grounded_and_valid_with_fewer_model_tokens(smollm2: tuple, grounded: list) -> None:
    model, tok = smollm2
    stats = FastStats()
    outs = generate_fast(model, tok, [chat(q) for q in QUERIES], grounded, max_new_tokens=96, batch_size=4,
                         progress=False, stats=stats)
    validator = jsonschema.Draft202012Validator(extraction_schema(TAX, **BOUNDS))
    for query, out in zip(QUERIES, outs, strict=True):  # order kept: each grammar is its own query's
        assert not out.truncated, out
        pred = json.loads(out.text)
        assert validator.is_valid(pred), out.text
        assert all(e["value"] in query for e in pred["entities"]), (query, out.text)
    # `{"intent":"` alone is 4 forced tokens per query; the closing brackets end rows without a model call.
    assert stats.forced_tokens >= 4 * len(QUERIES)
    assert stats.early_stops == len(QUERIES)
    assert stats.model_tokens + stats.forced_tokens + stats.early_stops == sum(o.n_tokens for o in outs)


def test_truncation_is_flagged_and_capped(smollm2: tuple, grounded: list) -> None:
    model, tok = smollm2
    outs = generate_fast(model, tok, [chat(q) for q in QUERIES[:2]], grounded[:2], max_new_tokens=5,
                         batch_size=2, progress=False)
    for out in outs:
        assert out.truncated and out.n_tokens == 5 and out.text.startswith('{"intent":"'), out


def test_bad_grammar_count_is_a_one_line_error(smollm2: tuple) -> None:
    with pytest.raises(ValueError, match="got 1 grammars for 2 prompts"):
        generate_fast(*smollm2, [chat("a"), chat("b")], [None])
    assert generate_fast(*smollm2, [], None) == []


def test_merge_rule_follows_the_pre_tokenizer() -> None:
    # `":[` then `{"` would be one punctuation pre-token: the last forced token is left to the model.
    assert _may_merge("[", np.array([_PUNCT]))
    assert not _may_merge('"', np.array([_LETTER]))   # `":"` then an intent label: two pre-tokens
    assert _may_merge(" ", np.array([_LETTER]))       # a space starts the next word's pre-token
    assert not _may_merge("e", np.array([_PUNCT, _DIGIT]))


def test_forced_text_inside_a_utf8_character_is_left_to_the_model(smollm2: tuple) -> None:
    import xgrammar as xgr

    from decoding.fast import _classes_for, _force, _Row

    model, tok = smollm2
    matcher = xgr.GrammarMatcher(grammar_compiler(model, tok).compile_grammar('root ::= "é" "tude"'))
    # 'é' is two bytes; a byte-level token for the first one leaves the grammar mid-character.
    first_byte = tok.convert_tokens_to_ids("Ã")
    assert matcher.accept_token(first_byte)
    row = _Row(0, [], matcher)
    vocab = model.config.vocab_size
    _force(row, tok, FastStats(), 16, _classes_for(tok, vocab), xgr.allocate_token_bitmask(1, vocab))
    assert row.out == [] and row.pending == []  # nothing forced, no crash: the model picks the next byte


def test_a_passed_deadline_stops_the_decode_between_steps(smollm2: tuple, grounded: list) -> None:
    """The service's decode deadline: past it, generate_fast raises instead of finishing the batch, and
    it checks before every forward pass (never inside one)."""
    import time

    from decoding.engine import DeadlineExceeded

    model, tok = smollm2
    prompts = [chat(q) for q in QUERIES]
    full = FastStats()
    t0 = time.monotonic()
    generate_fast(model, tok, prompts, grounded, max_new_tokens=64, batch_size=8, progress=False, stats=full)
    took = time.monotonic() - t0
    before = FastStats()
    with pytest.raises(DeadlineExceeded, match="before the prefill"):
        generate_fast(model, tok, prompts, grounded, max_new_tokens=64, batch_size=8, progress=False,
                      stats=before, deadline=time.monotonic() - 1)
    assert before.forward_passes == 0
    midway = FastStats()
    with pytest.raises(DeadlineExceeded):
        generate_fast(model, tok, prompts, grounded, max_new_tokens=64, batch_size=8, progress=False,
                      stats=midway, deadline=time.monotonic() + took / 3)
    assert midway.forward_passes < full.forward_passes


def test_the_compiled_grammar_cache_is_bounded(smollm2: tuple) -> None:
    """One grammar per distinct query: an unbounded cache grows with every query served. Bounded, it keeps
    about its limit (xgrammar keeps at least the newest entry)."""
    from decoding.engine import DEFAULT_GRAMMAR_CACHE_BYTES

    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    queries = [" ".join(words[(i + k) % 8] + str(k % (i + 2)) for k in range(60)) for i in range(8)]
    bounded = grammar_compiler(*smollm2, cache_limit_bytes=1 << 20)
    unbounded = grammar_compiler(*smollm2, cache_limit_bytes=1 << 40)
    for compiler in (bounded, unbounded):
        grammars_for_mode(compiler, "grounded", queries, TAX, **BOUNDS)
    largest = max(grammars_for_mode(grammar_compiler(*smollm2, cache_limit_bytes=0), "grounded", [q], TAX,
                                    **BOUNDS)[0].memory_size_bytes for q in queries)
    assert unbounded.get_cache_size_bytes() > 4 * (1 << 20)  # what an unbounded cache holds after 8 queries
    assert bounded.get_cache_size_bytes() <= (1 << 20) + 2 * largest
    assert 0 < DEFAULT_GRAMMAR_CACHE_BYTES < 1 << 30
