"""eval/robustness/config.yml: strict loading; each perturbation's parameters checked against its
transform."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.perturb import PARAM_CHECKS, RECORD_TRANSFORMS, SEVERITIES, TRANSFORMS, Perturbation
from schemas import SPLITS, ConfigError, load_yaml, unknown_keys
from schemas.config import did_you_mean

DEFAULT_CONFIG = Path(__file__).resolve().with_name("config.yml")
SYSTEMS = ("finetuned", "baseline")
TOP_KEYS = ("seed", "split", "limit", "systems", "perturbations")


@dataclass(frozen=True)
class RobustnessConfig:
    path: str
    seed: int
    split: str
    limit: int | None
    systems: tuple[str, ...]
    perturbations: tuple[Perturbation, ...]


def _accepted(transform: str) -> list[str]:
    fn = RECORD_TRANSFORMS[transform] if transform in RECORD_TRANSFORMS else TRANSFORMS[transform]
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]


def _perturbations(raw: Any, where: str, problems: list[str]) -> list[Perturbation]:
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{where}: perturbations must be a non-empty mapping name -> {{transform, low, ...}}")
        return []
    out, known = [], [*TRANSFORMS, *RECORD_TRANSFORMS]
    for name, spec in raw.items():
        at = f"{where}: perturbations.{name}"
        spec = spec if isinstance(spec, dict) else {}
        problems += unknown_keys(spec, ("transform", *SEVERITIES), at)
        transform = spec.get("transform")
        if transform not in known:
            problems.append(f"{at}.transform: '{transform}' is not one of {', '.join(known)}"
                            f"{did_you_mean(str(transform), known)}")
            continue
        levels = [s for s in SEVERITIES if s in spec]
        if not levels:
            problems.append(f"{at}: give parameters for at least one severity ({', '.join(SEVERITIES)})")
        for sev in levels:
            params = spec[sev] or {}
            if not isinstance(params, dict):
                problems.append(f"{at}.{sev}: must be a mapping of parameters")
                continue
            problems += unknown_keys(params, _accepted(transform), f"{at}.{sev}")
            if transform in PARAM_CHECKS:
                problems += PARAM_CHECKS[transform](params, f"{at}.{sev}")
            out.append(Perturbation(str(name), transform, sev, dict(params)))
    return out


def load_robustness_config(path: str | Path = DEFAULT_CONFIG) -> RobustnessConfig:
    raw = load_yaml(path) or {}
    where = str(path)
    problems = unknown_keys(raw, TOP_KEYS, where)
    problems += [f"{where}: missing key '{k}'" for k in TOP_KEYS if k not in raw]
    if problems:
        raise ConfigError(problems)
    if raw["split"] not in SPLITS:
        problems.append(f"{where}: split '{raw['split']}' is not one of {', '.join(SPLITS)}")
    limit = raw["limit"]
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        problems.append(f"{where}: limit must be a positive integer or null, got {limit!r}")
    systems = raw["systems"] if isinstance(raw["systems"], list) else []
    if not systems or any(s not in SYSTEMS for s in systems):
        problems.append(f"{where}: systems must be a non-empty list of {', '.join(SYSTEMS)}, "
                        f"got {raw['systems']!r}")
    if isinstance(raw["seed"], bool) or not isinstance(raw["seed"], int):
        problems.append(f"{where}: seed must be an integer, got {raw['seed']!r}")
    perturbations = _perturbations(raw["perturbations"], where, problems)
    if problems:
        raise ConfigError(problems)
    return RobustnessConfig(where, raw["seed"], raw["split"], limit, tuple(systems), tuple(perturbations))
