"""The bfloat16-mixed decode dtype on the real SmolLM2-135M: which parts end up in which type, that it
follows fp32 more closely than a model wholly in bf16, and what `auto` resolves to."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from basemodel.smollm2 import ensure_smollm2
from decoding import precision
from decoding.hf import load_model
from decoding.mixed_precision import Bf16Block, to_bf16_blocks

PROMPT = "<|im_start|>user\nany uplifting comedies from the 90s for a family night<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    # Random (not zero) LoRA weights on every linear layer: the mixed path must merge them before rounding.
    out = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(0)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    get_peft_model(AutoModelForCausalLM.from_pretrained(ensure_smollm2()), cfg).save_pretrained(out)
    return out


def _logits(dtype: str, adapter: Path) -> tuple[torch.Tensor, torch.nn.Module]:
    model, tok = load_model(ensure_smollm2(), adapter, dtype=dtype, threads=1)
    ids = tok(PROMPT, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        return model(ids).logits[0].float(), model


def test_blocks_are_bf16_and_the_residual_stream_and_head_stay_fp32(adapter: Path) -> None:
    _, model = _logits("bfloat16-mixed", adapter)
    layer = model.model.layers[0]
    assert isinstance(layer.self_attn, Bf16Block) and isinstance(layer.mlp, Bf16Block)
    assert layer.self_attn.inner.q_proj.weight.dtype == torch.bfloat16
    assert layer.mlp.inner.down_proj.weight.dtype == torch.bfloat16
    assert model.model.embed_tokens.weight.dtype == torch.float32
    assert layer.input_layernorm.weight.dtype == torch.float32
    assert model.get_output_embeddings().weight.dtype == torch.float32


def test_mixed_follows_fp32_closer_than_pure_bf16(adapter: Path) -> None:
    ref = _logits("float32", adapter)[0]
    mixed, bf16 = _logits("bfloat16-mixed", adapter)[0], _logits("bfloat16", adapter)[0]
    err_mixed, err_bf16 = ((x - ref).abs().mean().item() for x in (mixed, bf16))
    print(f"mean |logit - fp32 logit|: bfloat16-mixed {err_mixed:.4f}, bfloat16 {err_bf16:.4f}")
    # The property, not a margin: how much closer depends on the CPU's bf16 kernels (measured 0.17 vs 0.22
    # on an AMD EPYC with avx512_bf16, 0.174 vs 0.184 on an Intel Xeon with AMX).
    assert err_mixed < err_bf16, (err_mixed, err_bf16)


def test_a_model_without_decoder_layers_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="bfloat16-mixed needs decoder layers with self_attn and mlp"):
        to_bf16_blocks(torch.nn.Linear(4, 4))


@pytest.mark.parametrize("native, expected", [(True, "bfloat16-mixed"), (False, "float32")])
def test_auto_is_mixed_only_where_bf16_is_native(monkeypatch: pytest.MonkeyPatch, native: bool,
                                                 expected: str) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    assert precision.resolve_dtype("auto") == expected
    assert precision.resolve_dtype("bfloat16") == "bfloat16"
