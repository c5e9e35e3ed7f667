"""Strict YAML loading: unknown keys are errors, every problem reported at once, one line each."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """One or more problems in a config file; str() gives one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def did_you_mean(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_keys(data: Mapping[str, Any], allowed: Iterable[str], where: str) -> list[str]:
    """Problems for keys of `data` not in `allowed`, each naming `where` and a likely fix."""
    allowed = list(allowed)
    return [
        f"{where}: unknown key '{k}'{did_you_mean(str(k), allowed)}"
        for k in data
        if k not in allowed
    ]


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file, turning a missing file or bad syntax into a one-line ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: file not found"])
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError([f"{path}{at}: invalid YAML ({getattr(exc, 'problem', exc)})"]) from None


def read_jsonl(path: str | Path, make: str = "build the dataset with make data") -> list[dict[str, Any]]:
    """Records of a JSONL file; a missing file or a line that is not a JSON object is a one-line ConfigError
    naming file and line, so no CLI prints a traceback for a corrupt split."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: file not found; {make}"])
    records = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError([f"{path}:{n}: invalid JSON ({exc.msg} at column {exc.colno}); "
                                   f"expected one JSON object per line ({make})"]) from None
            if not isinstance(record, dict):
                got = type(record).__name__
                raise ConfigError([f"{path}:{n}: expected a JSON object, got {got} ({make})"])
            records.append(record)
    return records


def check_parquet(path: str | Path, what: str = "predictions file") -> Path:
    """`path` if it is a readable Parquet file, else a one-line ConfigError (missing, truncated, other)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: {what} not found"])
    try:
        pq.read_metadata(path)
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError([f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})"]) from None
    return path
