"""Who decides whether an extracted value is something the user rules out (`"exclude": true`).

- `model`: the fine-tuned model's own `exclude` flag, as decoded.
- `cues`: the taxonomy's negation cues (schemas/negation.py) decide for every value of an excludable type:
  ruled out exactly when a negation governs it. The model still chooses spans and types.
- `either`: ruled out when the model or the cues say so.

Values of types the taxonomy does not let users rule out never carry the flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas import ConfigError
from schemas.taxonomy import Taxonomy

POLARITIES = ("model", "cues", "either")


def locate(query: str, values: Sequence[str]) -> list[tuple[int, int] | None]:
    """Character span of each value, left to right (the occurrence after the previous one when there is
    one, else the first); None for a value the query does not contain."""
    spans: list[tuple[int, int] | None] = []
    cursor = 0
    for value in values:
        start = query.find(value, cursor)
        if start < 0:
            start = query.find(value)
        if start < 0:
            spans.append(None)
            continue
        spans.append((start, start + len(value)))
        cursor = start + len(value)
    return spans


def check_polarity(polarity: str, tax: Taxonomy) -> None:
    if polarity not in POLARITIES:
        raise ConfigError([f"unknown polarity {polarity!r}; choose from {', '.join(POLARITIES)}"])
    if polarity != "model" and tax.negation is None:
        raise ConfigError([f"{tax.path}: exclusion.cues missing; polarity {polarity!r} needs negation cues "
                           "(or set decode.polarity: model)"])


def resolve(query: str, entities: Sequence[dict[str, Any]], tax: Taxonomy,
            polarity: str) -> list[dict[str, Any]]:
    """`entities` (dicts with value, type and maybe exclude) as new dicts whose `exclude` is decided by
    `polarity`; the key is dropped where the answer is no, as in the compact output."""
    check_polarity(polarity, tax)
    spans = locate(query, [e["value"] for e in entities])
    found = [s for s in spans if s is not None]
    by_cues: dict[tuple[int, int], bool] = {}
    if tax.negation is not None and found and polarity != "model":
        by_cues = dict(zip(found, tax.negation.ruled_out(query, found), strict=True))
    out = []
    for ent, span in zip(entities, spans, strict=True):
        model = bool(ent.get("exclude", False))
        cues = span is not None and by_cues.get(span, False)
        decided = {"model": model, "cues": cues, "either": model or cues}[polarity]
        exclude = ent["type"] in tax.excludable and decided
        new = {k: v for k, v in ent.items() if k != "exclude"}
        out.append(new | ({"exclude": True} if exclude else {}))
    return out
