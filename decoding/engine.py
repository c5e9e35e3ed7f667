"""One switch for how local decoding runs: `decode.engine` in eval/config.yml.

  fast  decoding.fast: batched steps with a shared KV cache, per-row grammar bitmasks, jump-forward,
        finished rows dropped (the default; measured in benchmarks/results.md)
  hf    decoding.hf: transformers' generate() with xgrammar's logits processor (the previous path,
        kept for comparison and as a reference)
  vllm  decoding.vllm_engine: GPU only, an optional extra never installed in CI (scripts/gpu_check.sh)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ENGINES = ("fast", "hf", "vllm")


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown decoding engine {engine!r}; expected one of {', '.join(ENGINES)}")
    return engine


def generate(engine: str, model: Any, tokenizer: Any, prompts: Sequence[list[dict[str, str]]],
             grammars: Any, *, max_new_tokens: int, batch_size: int, desc: str = "generate",
             progress: bool = True, stats: Any = None, jump_forward: bool = True) -> list[Any]:
    """Greedy continuations of chat prompts with the chosen local engine (GenerationOutput each)."""
    check_engine(engine)
    if engine == "hf":
        from decoding.hf import generate_batch

        return generate_batch(model, tokenizer, prompts, grammars, max_new_tokens=max_new_tokens,
                              batch_size=batch_size, desc=desc, progress=progress)
    if engine == "vllm":
        raise ValueError("engine 'vllm' serves from its own process; use decoding.vllm_engine.VllmParser")
    from decoding.fast import generate_fast

    return generate_fast(model, tokenizer, prompts, grammars, max_new_tokens=max_new_tokens,
                         batch_size=batch_size, desc=desc, progress=progress, stats=stats,
                         jump_forward=jump_forward)
