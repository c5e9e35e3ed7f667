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
# Compiled grammars kept for repeated queries (decoding.hf.grammar_compiler). Every distinct query compiles
# its own grounded grammar, megabytes for a long one, so an unbounded cache grows with every query a
# service or an evaluation sees; evaluation queries rarely repeat, so a small cache loses nothing.
DEFAULT_GRAMMAR_CACHE_BYTES = 64 << 20


class DeadlineExceeded(TimeoutError):
    """A decode ran past the deadline its caller gave (time.monotonic()); nothing is returned."""


def check_deadline(deadline: float | None, where: str) -> None:
    """Raise DeadlineExceeded when `deadline` has passed: called between steps, never inside one."""
    import time

    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded(f"decode deadline passed {where}")


def check_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"unknown decoding engine {engine!r}; expected one of {', '.join(ENGINES)}")
    return engine


def generate(engine: str, model: Any, tokenizer: Any, prompts: Sequence[list[dict[str, str]]],
             grammars: Any, *, max_new_tokens: int, batch_size: int, desc: str = "generate",
             progress: bool = True, stats: Any = None, jump_forward: bool = True,
             deadline: float | None = None) -> list[Any]:
    """Greedy continuations of chat prompts with the chosen local engine (GenerationOutput each).

    `deadline` (time.monotonic()): past it the decode raises DeadlineExceeded, the fast engine between
    two steps, the hf engine between two batches (transformers' generate() runs a batch to its end).
    """
    check_engine(engine)
    if engine == "hf":
        from decoding.hf import generate_batch

        return generate_batch(model, tokenizer, prompts, grammars, max_new_tokens=max_new_tokens,
                              batch_size=batch_size, desc=desc, progress=progress, deadline=deadline)
    if engine == "vllm":
        raise ValueError("engine 'vllm' serves from its own process; use decoding.vllm_engine.VllmParser")
    from decoding.fast import generate_fast

    return generate_fast(model, tokenizer, prompts, grammars, max_new_tokens=max_new_tokens,
                         batch_size=batch_size, desc=desc, progress=progress, stats=stats,
                         jump_forward=jump_forward, deadline=deadline)
