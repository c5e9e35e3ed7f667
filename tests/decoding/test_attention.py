"""cpu_gqa attention against transformers' sdpa path (repeated KV heads), the masked argmax of the fast
engine against a full-vocabulary projection, and the switch that scopes cpu_gqa to the fast engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xgrammar as xgr
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from basemodel.smollm2 import ensure_smollm2
from decoding.attention import NAME, cpu_gqa, cpu_gqa_attention
from decoding.fast import masked_argmax
from decoding.hf import load_model


class _Module(torch.nn.Module):
    num_key_value_groups = 3
    is_causal = True


def _inputs(q_len: int, kv_len: int, dtype: torch.dtype) -> tuple:
    gen = torch.Generator().manual_seed(q_len)
    q = torch.randn(3, 9, q_len, 64, generator=gen).to(dtype)
    k = torch.randn(3, 3, kv_len, 64, generator=gen).to(dtype)
    v = torch.randn(3, 3, kv_len, 64, generator=gen).to(dtype)
    # Row 0 left-padded by 4, row 1 with a hole (a padded step), row 2 full; causal among the queries.
    mask = torch.ones(3, 1, q_len, kv_len, dtype=torch.bool)
    mask[0, :, :, :4] = False
    mask[1, :, :, 6:8] = False
    mask[:, :, :, kv_len - q_len:] &= torch.ones(q_len, q_len, dtype=torch.bool).tril()
    return q, k, v, mask


@pytest.mark.parametrize("q_len", [1, 4])
def test_cpu_gqa_equals_sdpa_with_repeated_heads(q_len: int) -> None:
    q, k, v, mask = _inputs(q_len, 20, torch.float32)
    ref, _ = sdpa_attention_forward(_Module(), q, k, v, mask, scaling=0.125)
    out, _ = cpu_gqa_attention(_Module(), q, k, v, mask, scaling=0.125)
    assert out.shape == ref.shape == (3, q_len, 9, 64)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_cpu_gqa_computes_bf16_inputs_in_fp32() -> None:
    q, k, v, mask = _inputs(1, 20, torch.bfloat16)
    out, _ = cpu_gqa_attention(_Module(), q, k, v, mask, scaling=0.125)
    exact, _ = sdpa_attention_forward(_Module(), q.float(), k.float(), v.float(), mask, scaling=0.125)
    bf16, _ = sdpa_attention_forward(_Module(), q, k, v, mask, scaling=0.125)
    assert out.dtype == torch.bfloat16
    # One rounding of the output only, so closer to the fp32 result than attention done in bf16.
    assert (out.float() - exact).abs().mean() <= (bf16.float() - exact).abs().mean()
    torch.testing.assert_close(out.float(), exact, atol=2e-2, rtol=2e-2)


def test_cpu_gqa_refuses_an_unmasked_prefill_after_cached_positions() -> None:
    q, k, v, _ = _inputs(4, 20, torch.float32)
    with pytest.raises(ValueError, match="need a mask"):
        cpu_gqa_attention(_Module(), q, k, v, None)
    out, _ = cpu_gqa_attention(_Module(), q, k[:, :, :4], v[:, :, :4], None)  # an empty cache: causal
    ref, _ = sdpa_attention_forward(_Module(), q, k[:, :, :4], v[:, :, :4], None)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def _bitmask(rows: list[list[int]], vocab: int) -> torch.Tensor:
    mask = xgr.allocate_token_bitmask(len(rows), vocab)
    mask.zero_()
    for r, allowed in enumerate(rows):
        for t in allowed:
            bit = 1 << (t % 32)
            mask[r, t // 32] |= bit - (1 << 32) if bit >= 1 << 31 else bit
    return mask


def test_masked_argmax_equals_the_full_projection_masked() -> None:
    vocab, gen = 1000, torch.Generator().manual_seed(0)
    head = torch.nn.Linear(32, vocab, bias=True)
    hidden = torch.randn(4, 32, generator=gen)
    rows = [[5], [1, 2, 999], list(range(0, vocab, 3)), [31, 32, 63, 64, 500]]  # word edges, sign bit
    mask = _bitmask(rows, vocab)
    full = head(hidden)
    xgr.apply_token_bitmask_inplace(full, mask, vocab_size=vocab)
    assert masked_argmax(head, hidden, mask, vocab) == full.argmax(dim=-1).tolist()
    assert masked_argmax(head, hidden, mask, vocab)[0] == 5
    # Each choice is one of the row's own tokens even when another row allows a better one.
    assert all(t in allowed for t, allowed in zip(masked_argmax(head, hidden, mask, vocab), rows, strict=True))
    assert np.unique(masked_argmax(head, hidden[:1].repeat(4, 1), mask, vocab)).size > 1


def test_cpu_gqa_switch_is_scoped_to_the_block() -> None:
    model, _ = load_model(ensure_smollm2(), threads=1)
    before = model.config._attn_implementation
    with cpu_gqa(model):
        assert model.config._attn_implementation == NAME
    assert model.config._attn_implementation == before
    with pytest.raises(RuntimeError), cpu_gqa(model):
        raise RuntimeError("a failed decode")
    assert model.config._attn_implementation == before
