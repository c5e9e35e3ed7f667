"""decode.engine: vllm, checked without vLLM (an optional GPU extra CI never installs): the requests it
would send carry the same greedy settings, stop tokens and per-query grammar, and that grammar compiles
in xgrammar (vLLM's structured-output backend) for the real tokenizer. scripts/gpu_check.sh runs it."""

from __future__ import annotations

import importlib.util
import inspect

import pytest

from basemodel.smollm2 import ensure_smollm2
from decoding.grounded import grounded_ebnf
from decoding.hf import grammar_compiler, load_model
from decoding.parser import DecodeSettings, Parser
from decoding.vllm_engine import sampling_kwargs, structured_field
from schemas import load_taxonomy

TAX = load_taxonomy()


def test_requests_carry_the_grounded_grammar_and_greedy_settings() -> None:
    ebnf = grounded_ebnf('is "Amélie" on Netflix', TAX, max_value_chars=80, max_entities=8)
    kw = sampling_kwargs(ebnf, None, 128, [2])
    assert kw == {"temperature": 0.0, "max_tokens": 128, "stop_token_ids": [2], "skip_special_tokens": True,
                  "structured_outputs": {"grammar": ebnf}}
    assert sampling_kwargs(None, {"type": "object"}, 64, [2], "guided_decoding")["guided_decoding"] == \
        {"json": {"type": "object"}}
    assert "structured_outputs" not in sampling_kwargs(None, None, 64, [2])
    # The grammar vLLM's xgrammar backend receives compiles for the model's tokenizer.
    model, tok = load_model(ensure_smollm2(), threads=1)
    assert grammar_compiler(model, tok).compile_grammar(ebnf) is not None


def test_structured_field_follows_the_vllm_version() -> None:
    def new(temperature=1.0, structured_outputs=None): ...  # vLLM >= 0.10.2
    def old(temperature=1.0, guided_decoding=None): ...     # earlier releases

    assert structured_field(new) == "structured_outputs" and structured_field(old) == "guided_decoding"
    assert inspect.signature(new).parameters  # both stand-ins are plain signatures, nothing imported


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed: gpu_check runs it")
def test_without_vllm_the_engine_is_refused_in_one_line() -> None:
    with pytest.raises(RuntimeError, match=r"needs vLLM and a CUDA GPU: pip install '\.\[gpu\]'"):
        Parser(ensure_smollm2(), None, None, TAX, DecodeSettings(engine="vllm"))
