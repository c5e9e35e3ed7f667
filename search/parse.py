"""Parse queries with a trained run's model for `python -m search --run`, exactly as eval and the service do.

The model, prompt, grammars, engine and decode settings are those of decoding.parser.Parser under
eval/config.yml's `decode` section, the settings `make eval` scores and `make serve` answers with.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schemas import Taxonomy

SEARCHED_KEYS = ("type", "value", "exclude", "canonical")  # what search() reads of an entity


def parse_queries(queries: Sequence[str], run: Path, eval_config: Path | None,
                  tax: Taxonomy) -> list[dict[str, Any]]:
    """One parse per query: intent, entities with offsets, and `status` (ok, or why it is unusable)."""
    from decoding.parser import DecodeSettings, Parser, read_run
    from eval.config import DEFAULT_CONFIG, load_eval_config

    settings = DecodeSettings.of(load_eval_config(eval_config or DEFAULT_CONFIG).decode)
    read_run(run)  # a one-line error before the slow load
    return Parser.from_run(run, settings, tax).parse_many(queries)


def to_extraction(parsed: dict[str, Any]) -> dict[str, Any] | None:
    """The extraction search() ranks by; None when the parse is unusable, as the service searches nothing."""
    if parsed["status"] != "ok":
        return None
    return {"intent": parsed["intent"],
            "entities": [{k: e.get(k) for k in SEARCHED_KEYS} for e in parsed["entities"]]}
