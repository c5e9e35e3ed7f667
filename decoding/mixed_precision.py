"""bf16 where the FLOPs are, fp32 where the rounding hurts: the `bfloat16-mixed` decode dtype.

Measured on a 2-core AMD EPYC with avx512_bf16, the default recipe's run, fast engine, grounded: on 512
heldout queries predictions equal fp32's on 491 with the whole model in bf16 (10.2 queries/s) and on 503
(98.2%) with attention and MLP in bf16 and the residual stream, norms and vocabulary head in fp32 (8.8
queries/s; fp32 4.5). Keeping only the head in fp32, or only the residual stream, was not enough (122 of
128 each, as plain bf16): near-ties at the head and rounding that accumulates over the 30 residual
additions both flip greedy choices. `make bench` compares the three against the old path.
"""

from __future__ import annotations

from typing import Any

import torch

BLOCKS = ("self_attn", "mlp")  # the sub-blocks of a transformers decoder layer (Llama, Qwen2, Mistral...)


class Bf16Block(torch.nn.Module):
    """A decoder sub-block run in bf16 between fp32 residual additions: its input (the normed hidden state,
    rotary cos/sin, a float mask) is cast down once, its output cast back up once."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner.to(torch.bfloat16)

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        kwargs = {k: _down(v) for k, v in kwargs.items()}
        out = self.inner(_down(hidden_states), *args, **kwargs)
        if isinstance(out, tuple):  # attention returns (output, weights)
            return (out[0].float(),) + tuple(out[1:])
        return out.float()


def _down(x: Any) -> Any:
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        return x.to(torch.bfloat16)
    if isinstance(x, tuple) and all(isinstance(t, torch.Tensor) for t in x):  # position_embeddings
        return tuple(_down(t) for t in x)
    return x


def to_bf16_blocks(model: Any) -> Any:
    """Wrap every decoder layer's attention and MLP of an fp32 model (adapter already merged, so the LoRA
    delta is added before the one rounding to bf16); embeddings, norms and head stay fp32."""
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None or not all(all(hasattr(layer, b) for b in BLOCKS) for layer in layers):
        raise ValueError(f"dtype bfloat16-mixed needs decoder layers with {' and '.join(BLOCKS)} "
                         f"(model.model.layers[i]); {type(model).__name__} has none: use bfloat16 or float32")
    for layer in layers:
        for name in BLOCKS:
            setattr(layer, name, Bf16Block(getattr(layer, name)))
    return model
