"""A data recipe's `intents:` weights, checked against the taxonomy and the template folder.

Every taxonomy intent needs a weight (0 leaves it out): an intent added to the taxonomy but forgotten in a
recipe would otherwise never reach the data, and nothing downstream would say so. Every intent with a
weight needs a template file in the grammar folder (`<intent>.yml`), checked here so `--check` names the
missing file before any heavy work.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from schemas import Taxonomy

# The `intent:` line of a template file; read with a pattern, not parsed, as the grammar loader parses later.
_INTENT_LINE = re.compile(r"^intent:\s*['\"]?([^'\"\s#]+)", re.MULTILINE)
NOT_TEMPLATES = ("lexicon.yml", "exclusions.yml")  # paraphrase sets and clauses share the folder


def missing_weights(raw: Any, tax: Taxonomy, path: Path) -> list[str]:
    """One line per taxonomy intent that a recipe's `intents:` mapping leaves out."""
    if not isinstance(raw, dict):
        return []  # the mapping's own type error is reported where it is read
    return [f"{path}: intents: intent '{i}' ({tax.path}) has no weight; add `{i}: <weight>` under "
            f"intents:, or `{i}: 0` to leave it out" for i in tax.intent_names if i not in raw]


def declared_intents(templates: Path) -> set[str]:
    """The intents the template files in `templates` declare."""
    found: set[str] = set()
    for path in sorted(templates.glob("*.yml")):
        if path.name not in NOT_TEMPLATES and (m := _INTENT_LINE.search(path.read_text(encoding="utf-8"))):
            found.add(m.group(1))
    return found


def missing_templates(weights: dict[str, float], templates: Path, path: Path) -> list[str]:
    """One line per intent with a weight above 0 that no template file in `templates` declares."""
    if not templates.is_dir():
        return []  # reported as a missing folder by the recipe loader
    declared = declared_intents(templates)
    return [f"{path}: intents.{i}: no template file {templates / (i + '.yml')}; write it (`intent: {i}` and "
            f"its templates, like the other files there), or give {i} weight 0"
            for i, w in weights.items() if w > 0 and i not in declared]
