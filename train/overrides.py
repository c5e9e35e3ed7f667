"""`--set key=value` overrides: YAML scalars, dotted keys for nesting, list indices as numbers.

    --set lora_r=32                       -> {"lora_r": 32}
    --set bf16=false                      -> {"bf16": False}
    --set special_tokens.pad_token='<p>'  -> {"special_tokens": {"pad_token": "<p>"}}
    --set datasets.0.split='train[:500]'  -> first dataset entry's split
    --set lora_target_modules='[q_proj, v_proj]'  (flow-style YAML lists and maps work too)
"""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from schemas.config import ConfigError

_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def parse_set(item: str) -> tuple[list[str | int], Any]:
    """'a.b=1' -> (['a', 'b'], 1). The value is parsed as YAML, so types match the recipe file."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError([f"--set {item}: expected key=value, e.g. --set lora_r=32"])
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", exc)
        raise ConfigError([f"--set {item}: value is not valid YAML ({problem})"]) from None
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        value = float(value)  # YAML 1.1 reads 2e-4 (no dot) as a string; users mean a number
    # ASCII digits only: str.isdigit() is also true for '²' or '٣', which int() refuses.
    path: list[str | int] = [int(p) if p.isascii() and p.isdigit() else p for p in key.split(".")]
    if any(p == "" for p in path):
        raise ConfigError([f"--set {item}: empty part in dotted key '{key}'"])
    return path, value


def apply_overrides(cfg: dict[str, Any], items: list[str]) -> dict[str, Any]:
    """A copy of `cfg` with every --set applied in order; bad paths are reported all at once."""
    out = copy.deepcopy(cfg)
    problems: list[str] = []
    for item in items:
        try:
            path, value = parse_set(item)
            _assign(out, path, value)
        except ConfigError as exc:
            problems += exc.problems
        except (IndexError, TypeError, KeyError) as exc:
            problems.append(f"--set {item}: cannot apply ({exc})")
    if problems:
        raise ConfigError(problems)
    return out


def _assign(node: Any, path: list[str | int], value: Any) -> None:
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(part, int):
            if not isinstance(node, list):
                raise TypeError(f"'{part}' indexes a list, but the value there is {type(node).__name__}")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise TypeError(f"'{part}' needs a mapping above it, found {type(node).__name__}")
        if node.get(part) is None:
            node[part] = [] if isinstance(nxt, int) else {}
        node = node[part]
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(node, list):
            raise TypeError(f"'{last}' indexes a list, but the value there is {type(node).__name__}")
        node[last] = value
    elif not isinstance(node, dict):
        raise TypeError(f"'{last}' needs a mapping above it, found {type(node).__name__}")
    else:
        node[last] = value
