"""Load eval/config.yml strictly: unknown keys and bad values are errors, all reported at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decoding.grounded import MODES
from decoding.polarity import POLARITIES
from schemas import SPLITS, ConfigError, load_yaml, unknown_keys
from schemas.config import did_you_mean

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")
SYSTEMS = ("finetuned", "zero_shot", "baseline")  # what is evaluated: not labels, the eval's own verbs


@dataclass(frozen=True)
class DecodeConfig:
    batch_size: int
    max_new_tokens: int
    mode: str
    max_value_chars: int
    max_entities: int
    dtype: str
    engine: str = "fast"
    polarity: str = "cues"  # who decides "exclude" (decoding/polarity.py)


@dataclass(frozen=True)
class BaselineConfig:
    word_ngrams: tuple[int, int]
    char_ngrams: tuple[int, int]
    C: float  # noqa: N815 - scikit-learn's name for it
    max_iter: int
    min_value_chars: int
    negation_cues: tuple[str, ...] = ()   # a value right after one of these is excluded (eval/baselines.py)
    negation_skip: tuple[str, ...] = ()   # words allowed between the cue and the value ("not a horror")


@dataclass(frozen=True)
class ReportConfig:
    worst_errors: int
    dpi: int


@dataclass(frozen=True)
class EvalConfig:
    systems: tuple[str, ...]
    splits: tuple[str, ...]
    limit: int | None
    limit_by_system: dict[str, int | None]
    sample_seed: int
    decode: DecodeConfig
    baseline: BaselineConfig
    report: ReportConfig
    path: str = str(DEFAULT_CONFIG)

    def limit_for(self, system: str) -> int | None:
        return self.limit_by_system.get(system, self.limit)


# Checked at load so a typo stops here, not after minutes of decoding. DTYPES are decoding.hf's torch
# dtypes by name (that module imports torch; tests/eval/test_config.py keeps the two lists equal).
DTYPES = ("auto", "float32", "bfloat16", "bfloat16-mixed", "float16")
SECTIONS: dict[str, tuple[str, ...]] = {
    "decode": ("engine", "batch_size", "max_new_tokens", "mode", "max_value_chars", "max_entities", "dtype",
               "polarity"),
    "baseline": ("word_ngrams", "char_ngrams", "C", "max_iter", "min_value_chars", "negation_cues",
                 "negation_skip"),
    "report": ("worst_errors", "dpi"),
}
TOP = ("systems", "splits", "limit", "limit_by_system", "sample_seed", *SECTIONS)


def choices(values: Any, allowed: tuple[str, ...], where: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        problems.append(f"{where}: must be a non-empty list of {', '.join(allowed)}")
        return ()
    for v in values:
        if v not in allowed:
            problems.append(f"{where}: unknown value '{v}'{did_you_mean(str(v), allowed)}; "
                            f"choose from {', '.join(allowed)}")
    return tuple(values)


def positive_int(value: Any, where: str, problems: list[str], *, allow_none: bool = False,
                 minimum: int = 1) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.append(f"{where}: must be an integer >= {minimum}{' or null' if allow_none else ''}, "
                        f"got {value!r}")
    return value


def engine_choice(value: Any, where: str, problems: list[str]) -> str:
    from decoding.engine import ENGINES

    if value not in ENGINES:
        problems.append(f"{where}: unknown engine {value!r}{did_you_mean(str(value), ENGINES)}; "
                        f"choose from {', '.join(ENGINES)}")
    return str(value)


def system_limits(value: Any, where: str, problems: list[str]) -> dict[str, int | None]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{where}: must be a mapping of system to limit, got {value!r}")
        return {}
    problems += unknown_keys(value, SYSTEMS, where)
    return {k: positive_int(v, f"{where}.{k}", problems, allow_none=True) for k, v in value.items()}


def positive_float(value: Any, where: str, problems: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        problems.append(f"{where}: must be a positive number, got {value!r}")
        return 1.0
    return float(value)


def ngram_range(value: Any, where: str, problems: list[str]) -> tuple[int, int]:
    ok = isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value)
    if not ok or value[0] > value[1]:
        problems.append(f"{where}: must be [min, max] with 1 <= min <= max, got {value!r}")
        return (1, 1)
    return (value[0], value[1])


def phrases(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    """A list of non-empty phrases, lowercased (they are matched against casefolded query words)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: must be a list of non-empty strings, got {value!r}")
        return ()
    return tuple(" ".join(v.split()).casefold() for v in value)


def one_of(value: Any, allowed: tuple[str, ...], where: str, problems: list[str]) -> str:
    if value not in allowed:
        problems.append(f"{where}: unknown value '{value}'{did_you_mean(str(value), allowed)}; "
                        f"choose from {', '.join(allowed)}")
    return str(value)


def load_eval_config(path: str | Path = DEFAULT_CONFIG) -> EvalConfig:
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: top level must be a mapping of settings, got {raw!r}"])
    problems = unknown_keys(raw, TOP, str(path))
    problems += [f"{path}: missing key '{k}'" for k in TOP if k not in raw]
    sections: dict[str, dict[str, Any]] = {}
    for name, keys in SECTIONS.items():
        sec = raw.get(name) or {}
        if not isinstance(sec, dict):
            problems.append(f"{path}: {name}: must be a mapping of {', '.join(keys)}, got {sec!r}")
            sec = {k: None for k in keys}
        problems += unknown_keys(sec, keys, f"{path}: {name}")
        problems += [f"{path}: {name}: missing key '{k}'" for k in keys if k not in sec]
        sections[name] = sec
    if problems:
        raise ConfigError(problems)
    dec, base, rep = sections["decode"], sections["baseline"], sections["report"]
    cfg = EvalConfig(
        systems=choices(raw["systems"], SYSTEMS, f"{path}: systems", problems),
        splits=choices(raw["splits"], SPLITS, f"{path}: splits", problems),
        limit=positive_int(raw["limit"], f"{path}: limit", problems, allow_none=True),
        limit_by_system=system_limits(raw["limit_by_system"], f"{path}: limit_by_system", problems),
        sample_seed=positive_int(raw["sample_seed"], f"{path}: sample_seed", problems, minimum=0),
        decode=DecodeConfig(
            batch_size=positive_int(dec["batch_size"], f"{path}: decode.batch_size", problems),
            max_new_tokens=positive_int(dec["max_new_tokens"], f"{path}: decode.max_new_tokens", problems),
            mode=one_of(dec["mode"], MODES, f"{path}: decode.mode", problems),
            max_value_chars=positive_int(dec["max_value_chars"], f"{path}: decode.max_value_chars", problems),
            max_entities=positive_int(dec["max_entities"], f"{path}: decode.max_entities", problems),
            dtype=one_of(dec["dtype"], DTYPES, f"{path}: decode.dtype", problems),
            engine=engine_choice(dec["engine"], f"{path}: decode.engine", problems),
            polarity=one_of(dec["polarity"], POLARITIES, f"{path}: decode.polarity", problems),
        ),
        baseline=BaselineConfig(
            word_ngrams=ngram_range(base["word_ngrams"], f"{path}: baseline.word_ngrams", problems),
            char_ngrams=ngram_range(base["char_ngrams"], f"{path}: baseline.char_ngrams", problems),
            C=positive_float(base["C"], f"{path}: baseline.C", problems),
            max_iter=positive_int(base["max_iter"], f"{path}: baseline.max_iter", problems),
            min_value_chars=positive_int(base["min_value_chars"], f"{path}: baseline.min_value_chars",
                                         problems),
            negation_cues=phrases(base["negation_cues"], f"{path}: baseline.negation_cues", problems),
            negation_skip=phrases(base["negation_skip"], f"{path}: baseline.negation_skip", problems),
        ),
        report=ReportConfig(
            worst_errors=positive_int(rep["worst_errors"], f"{path}: report.worst_errors", problems),
            dpi=positive_int(rep["dpi"], f"{path}: report.dpi", problems),
        ),
        path=str(path),
    )
    if problems:
        raise ConfigError(problems)
    return cfg
