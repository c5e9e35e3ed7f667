"""Batched greedy generation with the real SmolLM2-135M: grammars per prompt, order kept, truncation flagged,
a LoRA adapter merged at load."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import torch

from basemodel.smollm2 import ensure_smollm2
from decoding.grounded import grammars_for_mode
from decoding.hf import generate_batch, grammar_compiler, load_model, stop_token_ids
from schemas import extraction_schema, load_taxonomy

TAX = load_taxonomy()
SYSTEM = "Extract the search intent and entities as JSON."
QUERIES = [
    "who directed Parasite",
    "any uplifting comedies from the 90s for a family night?",
    'is "Amélie" on Netflix',
    "play Inception",
]


@pytest.fixture(scope="module")
def smollm2() -> tuple:
    # One thread: on the shared test machine two threads spin-wait on a busy core (see load_model).
    return load_model(ensure_smollm2(), threads=1)


def chat(query: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": query}]


def test_grounded_generation_keeps_order_and_every_value_is_a_query_span(smollm2: tuple) -> None:
    model, tok = smollm2
    bounds = {"max_value_chars": 16, "max_entities": None}
    grammars = grammars_for_mode(grammar_compiler(model, tok), "grounded", QUERIES, TAX, **bounds)
    # The grammar is finite (one entity per word at most, values of at most 16 characters); 256 new
    # tokens cover these queries even for the base model, which spells JSON in short tokens.
    # batch 3 over 4 prompts: two batches, sorted by length, so order restoration is exercised.
    outs = generate_batch(model, tok, [chat(q) for q in QUERIES], grammars, max_new_tokens=256, batch_size=3)
    validator = jsonschema.Draft202012Validator(extraction_schema(TAX, **bounds))
    assert len(outs) == len(QUERIES)
    for query, out in zip(QUERIES, outs, strict=True):
        assert not out.truncated, out
        pred = json.loads(out.text)
        assert validator.is_valid(pred), out.text
        # Each grammar was built for its own query: a row restored to the wrong place would fail here.
        assert all(e["value"] in query for e in pred["entities"]), (query, out.text)
        assert 0 < out.n_tokens <= 256


def test_truncation_is_flagged_when_the_budget_runs_out(smollm2: tuple) -> None:
    model, tok = smollm2
    schema = grammars_for_mode(grammar_compiler(model, tok), "schema", QUERIES[:2], TAX,
                               max_value_chars=24, max_entities=2)
    outs = generate_batch(model, tok, [chat(q) for q in QUERIES[:2]], schema, max_new_tokens=4, batch_size=2)
    for out in outs:
        assert out.truncated and out.n_tokens == 4
        assert out.text and '{"intent":'.startswith(out.text[:10]), out.text
        with pytest.raises(json.JSONDecodeError):
            json.loads(out.text)


def test_stop_token_comes_from_the_generation_config(smollm2: tuple) -> None:
    model, tok = smollm2
    # ChatML turns end with <|im_end|>; `make model` fixes the GGUF tokenizer, which named <|im_start|>.
    assert tok.convert_ids_to_tokens(stop_token_ids(model, tok)) == ["<|im_end|>"]
    assert tok.eos_token == "<|im_end|>"
    assert tok.padding_side == "left" and tok.pad_token_id is not None
    assert generate_batch(model, tok, [], None) == []


def test_bad_inputs_are_one_line_errors(smollm2: tuple, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dtype 'fp32' is not supported; use one of float32"):
        load_model(ensure_smollm2(), dtype="fp32")
    with pytest.raises(FileNotFoundError, match="no config.json, not a model directory"):
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="no adapter_config.json, not a LoRA adapter directory"):
        load_model(ensure_smollm2(), tmp_path)
    model, tok = smollm2
    with pytest.raises(ValueError, match="got 1 grammars for 2 prompts"):
        generate_batch(model, tok, [chat("a"), chat("b")], [None])


def test_lora_adapter_is_merged_at_load(smollm2: tuple, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base_dir = ensure_smollm2()
    fresh = AutoModelForCausalLM.from_pretrained(base_dir)
    # Random (not zero) LoRA weights, so a merged adapter must change the logits.
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(fresh, cfg).save_pretrained(tmp_path / "adapter")
    merged, tok = load_model(base_dir, tmp_path / "adapter", threads=1)
    assert not hasattr(merged, "peft_config")  # merged into plain weights, not a PeftModel wrapper
    ids = tok("play Inception", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        delta = (merged(ids).logits - smollm2[0](ids).logits).abs().max().item()
    assert delta > 1e-3
