"""One generated continuation, cut at its stop token the same way by every local engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class GenerationOutput:
    text: str        # decoded continuation, stop token excluded
    n_tokens: int    # generated tokens, the stop token included
    truncated: bool  # max_new_tokens ran out before a stop token


def finish_output(tokenizer: Any, ids: list[int], stops: list[int]) -> GenerationOutput:
    """The continuation up to its first stop token; truncated when none came."""
    end = next((k for k, t in enumerate(ids) if t in stops), None)
    if end is None:
        return GenerationOutput(_decode(tokenizer, ids), len(ids), True)
    return GenerationOutput(_decode(tokenizer, ids[:end]), end + 1, False)


def _decode(tokenizer: Any, ids: list[int]) -> str:
    # No clean-up: it strips spaces before punctuation, which would change JSON string values.
    return tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
