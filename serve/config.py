"""Load serve/config.yml strictly: unknown keys and bad values are errors, all reported at once."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from schemas import ConfigError, load_yaml, unknown_keys

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")
# Keys that may be 0; every other integer key must be >= 1.
_ZERO_OK = {"max_wait_ms", "grammar_cache_mb"}


@dataclass(frozen=True)
class ServeConfig:
    host: str
    port: int
    allow_unauthenticated_remote: bool
    max_batch: int
    max_wait_ms: int
    queue_limit: int
    max_body_bytes: int
    body_timeout_s: int
    max_queries: int
    max_query_chars: int
    max_query_words: int
    request_timeout_s: int
    grammar_cache_mb: int


def load_serve_config(path: str | Path = DEFAULT_CONFIG, **overrides: Any) -> ServeConfig:
    raw = {**(load_yaml(path) or {}), **{k: v for k, v in overrides.items() if v is not None}}
    names = [f.name for f in fields(ServeConfig)]
    problems = unknown_keys(raw, names, str(path))
    problems += [f"{path}: missing key '{k}'" for k in names if k not in raw]
    problems += [p for k in names if k in raw and (p := _check(k, raw[k], path))]
    if problems:
        raise ConfigError(problems)
    return ServeConfig(**{k: raw[k] for k in names})


def _check(key: str, value: Any, path: str | Path) -> str | None:
    """One-line problem with one key's value, or None."""
    if key == "host":
        return None if isinstance(value, str) and value else f"{path}: host: must be a name, got {value!r}"
    if key == "allow_unauthenticated_remote":
        return None if isinstance(value, bool) else f"{path}: {key}: must be true or false, got {value!r}"
    minimum = 0 if key in _ZERO_OK else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return f"{path}: {key}: must be an integer >= {minimum}, got {value!r}"
    return None
