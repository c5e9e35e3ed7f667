"""Parse queries with a trained run's model (run_card.json + adapter), for `python -m search --run`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schemas import ConfigError, Taxonomy


def run_inputs(run: Path) -> tuple[Path, str | None]:
    """The base model and the system prompt the run was trained with, from its run card."""
    path = run / "run_card.json"
    if not path.is_file():
        raise ConfigError([f"{path}: file not found; pass a run folder written by make train"])
    card = json.loads(path.read_text(encoding="utf-8"))
    base = (card.get("resolved_config") or {}).get("base_model")
    if not base or not Path(base).exists():
        raise ConfigError([f"{path}: resolved_config.base_model {base!r} not found; "
                           "build it with make model"])
    if not (run / "adapter_model.safetensors").is_file():
        raise ConfigError([f"{run}: no adapter_model.safetensors; "
                           "pass the run folder of a finished training"])
    return Path(base), (card.get("data") or {}).get("system_prompt")


def parse_queries(queries: Sequence[str], run: Path, settings: dict[str, Any],
                  tax: Taxonomy) -> list[dict[str, Any] | None]:
    """One extraction per query ({"intent", "entities"}), None where the output is not JSON."""
    from decoding.grounded import grammars_for_mode
    from decoding.hf import generate_batch, grammar_compiler, load_model

    base, prompt = run_inputs(run)
    model, tokenizer = load_model(base, run, settings["dtype"])
    grammars = grammars_for_mode(grammar_compiler(model, tokenizer), settings["mode"], queries, tax,
                                 max_value_chars=settings["max_value_chars"],
                                 max_entities=settings["max_entities"])
    head = [] if prompt is None else [{"role": "system", "content": prompt}]
    outs = generate_batch(model, tokenizer, [head + [{"role": "user", "content": q}] for q in queries],
                          grammars, max_new_tokens=settings["max_new_tokens"], progress=False)
    parsed: list[dict[str, Any] | None] = []
    for out in outs:
        try:
            parsed.append(json.loads(out.text))
        except json.JSONDecodeError:
            parsed.append(None)
    return parsed
