"""Load serve/config.yml strictly: unknown keys and bad values are errors, all reported at once."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from schemas import ConfigError, load_yaml, unknown_keys

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")


@dataclass(frozen=True)
class ServeConfig:
    host: str
    port: int
    max_batch: int
    max_wait_ms: int
    queue_limit: int
    max_queries: int
    max_query_chars: int


def load_serve_config(path: str | Path = DEFAULT_CONFIG, **overrides: Any) -> ServeConfig:
    raw = {**(load_yaml(path) or {}), **{k: v for k, v in overrides.items() if v is not None}}
    names = [f.name for f in fields(ServeConfig)]
    problems = unknown_keys(raw, names, str(path))
    problems += [f"{path}: missing key '{k}'" for k in names if k not in raw]
    for k in names[1:]:
        v = raw.get(k)
        minimum = 0 if k == "max_wait_ms" else 1
        if k in raw and (isinstance(v, bool) or not isinstance(v, int) or v < minimum):
            problems.append(f"{path}: {k}: must be an integer >= {minimum}, got {v!r}")
    if "host" in raw and not isinstance(raw["host"], str):
        problems.append(f"{path}: host: must be a string, got {raw['host']!r}")
    if problems:
        raise ConfigError(problems)
    return ServeConfig(**{k: raw[k] for k in names})
