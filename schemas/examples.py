"""A labelled example built from the taxonomy alone, shown to a model as a demonstration.

Data generation (synth's local backend) and evaluation (the zero-shot prompt) both show it, so it lives
on the ground floor with the taxonomy it is built from.
"""

from __future__ import annotations

import re
from typing import Any

from schemas.config import ConfigError
from schemas.jsonschemas import extraction_json
from schemas.taxonomy import Taxonomy


def worked_example(tax: Taxonomy) -> dict[str, str]:
    """A labelled example built from the taxonomy alone: the intent example that contains the most
    entity-type examples, labelled with those (non-overlapping, in query order)."""
    best: tuple[int, str, str, list[dict[str, Any]]] | None = None
    for intent in tax.intents.values():
        for query in intent.examples:
            found: list[dict[str, Any]] = []
            for et in tax.entity_types.values():
                for ex in et.examples:
                    m = re.search(rf"(?<!\w){re.escape(ex)}(?!\w)", query, flags=re.IGNORECASE)
                    if m and not any(m.start() < f["end"] and f["start"] < m.end() for f in found):
                        found.append({"type": et.name, "value": m.group(),
                                      "start": m.start(), "end": m.end()})
            if best is None or len(found) > best[0]:
                best = (len(found), intent.name, query, found)
    if best is None:
        raise ConfigError([f"{tax.path}: no intent has examples; add some to build the zero-shot prompt"])
    _, intent, query, found = best
    return {"query": query, "answer": extraction_json(intent, sorted(found, key=lambda f: f["start"]))}
