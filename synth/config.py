"""The data recipe (`recipes/data/*.yml`): load, check every key, resolve overrides."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from schemas import ConfigError, Taxonomy, load_taxonomy, load_yaml, unknown_keys
from synth.intent_weights import missing_templates, missing_weights

BACKENDS = ("grammar", "openai", "local")
STRATEGIES = ("random", "heldout")
TARGET_MODES = ("warn", "fit")  # entity_targets: only reported, or met by raising template weights
TOP_KEYS = ("name", "seed", "n", "taxonomy", "kg", "out", "backend", "grammar", "openai", "local",
            "intents", "entity_targets", "entity_targets_mode", "oversample", "max_rounds", "min_records",
            "dedup", "split", "chat", "open_pools", "paraphrase", "exclusions")
SPLIT_KEYS = ("strategy", "validation", "test", "heldout", "heldout_templates", "heldout_entities",
              "heldout_templates_per_type")
DEDUP_KEYS = ("near", "near_threshold")
SECTIONS = ("grammar", "openai", "local", "intents", "entity_targets", "dedup", "split", "chat")
# Allowed range of every share, (low, high, low_open, high_open). Heldout shares are open at both ends:
# 0 would hold nothing out and 1 would leave train nothing, and neither is a held-out split.
SPLIT_RANGES = {"validation": (0, 1, False, True), "test": (0, 1, False, True),
                "heldout": (0, 1, False, True),
                "heldout_templates": (0, 1, True, True), "heldout_entities": (0, 1, True, True)}


@dataclass
class SplitConfig:
    strategy: str = "heldout"
    validation: float = 0.05
    test: float = 0.05
    heldout: float = 0.10
    heldout_templates: float = 0.2
    heldout_entities: float = 0.2
    heldout_templates_per_type: int = 0  # at least this many heldout templates name each slot pool


@dataclass
class DataConfig:
    path: str
    name: str
    seed: int
    n: int
    taxonomy: str
    kg: str
    out: str
    backend: str
    grammar: dict[str, Any]
    openai: dict[str, Any]
    local: dict[str, Any]
    intents: dict[str, float]
    entity_targets: dict[str, float]
    oversample: float
    max_rounds: int
    near_dedup: bool
    near_threshold: float
    split: SplitConfig
    system_prompt: str
    entity_targets_mode: str = "warn"  # TARGET_MODES
    min_records: int | float | None = None  # None: all n; an int: a count; a float in (0, 1]: a share of n
    open_pools: dict[str, Any] = field(default_factory=dict)  # synth.pools.OpenPoolConfig, resolved
    paraphrase: dict[str, Any] = field(default_factory=dict)  # synth.paraphrase.ParaphraseConfig, resolved
    exclusions: dict[str, Any] = field(default_factory=dict)  # synth.exclusions.ExclusionConfig, resolved
    tax: Taxonomy = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def resolved(self) -> dict[str, Any]:
        """The config as written to the manifest: plain data, every default filled in."""
        d = asdict(self)
        d.pop("tax")
        return d


def required_records(cfg: DataConfig) -> int:
    """How many records a run must keep to succeed: n unless the recipe's min_records allows fewer."""
    m = cfg.min_records
    if m is None:
        return cfg.n
    if isinstance(m, float):
        return min(cfg.n, math.ceil(m * cfg.n - 1e-9))
    return min(cfg.n, m)


def _min_records_problems(value: Any, path: Path) -> list[str]:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return []
    if isinstance(value, float) and 0 < value <= 1:
        return []
    return [f"{path}: min_records must be null, an integer >= 0 (a count) or a number in (0, 1] "
            f"(a share of n), got {value!r}"]


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def in_range(v: Any, lo: float, hi: float, lo_open: bool, hi_open: bool) -> bool:
    if not _is_number(v):
        return False
    return (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)


def range_text(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
    hi_s = "inf" if hi == float("inf") else f"{hi:g}"
    return f"{'(' if lo_open else '['}{lo:g}, {hi_s}{')' if hi_open or hi_s == 'inf' else ']'}"


def check_range(v: Any, where: str, problems: list[str], lo: float, hi: float, lo_open: bool = False,
                hi_open: bool = False) -> None:
    if not in_range(v, lo, hi, lo_open, hi_open):
        problems.append(f"{where}: must be a number in {range_text(lo, hi, lo_open, hi_open)}, got {v!r}")


def _share_map(raw: Any, labels: list[str], where: str, problems: list[str], hi: float = float("inf")
               ) -> dict[str, float]:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping label -> share, got {raw!r}")
        return {}
    for k, v in raw.items():
        if k not in labels:
            problems.append(f"{where}: unknown label '{k}' (not in the taxonomy; known: {', '.join(labels)})")
        else:
            check_range(v, f"{where}.{k}", problems, 0, hi)
    return {k: float(v) for k, v in raw.items() if k in labels and in_range(v, 0, hi, False, False)}


def _scalar_problems(raw: dict[str, Any], path: Path) -> list[str]:
    """Types and ranges of the top-level scalars and of every share, before anything uses them."""
    problems = [f"{path}: {k}: must be a mapping, got {raw[k]!r}" for k in SECTIONS
                if raw.get(k) is not None and not isinstance(raw[k], dict)]
    for key, minimum in (("seed", 0), ("n", 1), ("max_rounds", 0)):
        v = raw.get(key, minimum)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            problems.append(f"{path}: {key}: must be an integer >= {minimum}, got {v!r}")
    check_range(raw.get("oversample", 1.25), f"{path}: oversample", problems, 1, float("inf"))
    for key in ("name", "backend", "out", "kg", "taxonomy"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"{path}: {key}: must be a string, got {raw[key]!r}")
    split = raw.get("split") if isinstance(raw.get("split"), dict) else {}
    for key, bounds in SPLIT_RANGES.items():
        if key in split:
            check_range(split[key], f"{path}: split.{key}", problems, *bounds)
    dedup = raw.get("dedup") if isinstance(raw.get("dedup"), dict) else {}
    if not isinstance(dedup.get("near", True), bool):
        problems.append(f"{path}: dedup.near: must be true or false, got {dedup['near']!r}")
    check_range(dedup.get("near_threshold", 0.95), f"{path}: dedup.near_threshold", problems, 0, 1, True)
    return problems


def _backend_problems(raw: dict[str, Any], backend: str, path: Path) -> list[str]:
    """Check the chosen backend's section now, so --check catches it before any heavy work."""
    grammar = raw.get("grammar") or {}
    problems = unknown_keys(grammar, ("templates", "compositions", "noise"), f"{path}: grammar")
    if not isinstance(grammar.get("compositions", True), bool):
        problems.append(f"{path}: grammar.compositions: must be true or false, "
                        f"got {grammar['compositions']!r}")
    try:
        if backend == "grammar" and not isinstance(grammar.get("noise") or {}, dict):
            problems.append(f"{path}: grammar.noise: must be a mapping, got {grammar['noise']!r}")
        elif backend == "grammar":
            from synth.noise import NoiseConfig

            NoiseConfig.from_mapping(grammar.get("noise") or {}, f"{path}: grammar.noise")
        elif backend == "openai":
            from synth.backends.openai_backend import check_config

            check_config(raw.get("openai") or {}, f"{path}: openai")
        elif backend == "local":
            from synth.backends.local import check_config as check_local

            check_local(raw.get("local") or {}, f"{path}: local")
    except ConfigError as exc:
        problems += exc.problems
    return problems


def load_data_config(path: str | Path, overrides: dict[str, Any] | None = None) -> DataConfig:
    """Parse and check a data recipe; `overrides` (n, seed, out) win over the file."""
    path = Path(path)
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: top level must be a mapping"])
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    problems = unknown_keys(raw, TOP_KEYS, str(path))
    for key in ("name", "seed", "n"):
        if key not in raw:
            problems.append(f"{path}: missing required key '{key}'")
    problems += _scalar_problems(raw, path)
    if problems:
        raise ConfigError(problems)

    tax_path = Path(raw.get("taxonomy", "schemas/taxonomy.yaml"))
    tax = load_taxonomy(tax_path)
    split_raw = raw.get("split") or {}
    dedup_raw = raw.get("dedup") or {}
    problems += unknown_keys(split_raw, SPLIT_KEYS, f"{path}: split")
    problems += unknown_keys(dedup_raw, DEDUP_KEYS, f"{path}: dedup")
    backend = raw.get("backend", "grammar")
    if backend not in BACKENDS:
        problems.append(f"{path}: backend '{backend}' is not one of {', '.join(BACKENDS)}")
    split = SplitConfig(**{k: v for k, v in split_raw.items() if k in SPLIT_KEYS})
    if split.strategy not in STRATEGIES:
        problems.append(f"{path}: split.strategy '{split.strategy}' is not one of {', '.join(STRATEGIES)}")
    held = split.heldout if split.strategy == "heldout" else 0.0
    if split.validation + split.test + held >= 1:
        problems.append(f"{path}: split: validation + test + heldout must be < 1 (train keeps the rest)")
    if split.strategy == "heldout" and split.heldout <= 0:
        problems.append(f"{path}: split.heldout: must be > 0 with strategy heldout (or use strategy random)")
    per_type = split.heldout_templates_per_type
    if isinstance(per_type, bool) or not isinstance(per_type, int) or per_type < 0:
        problems.append(f"{path}: split.heldout_templates_per_type: must be a whole number >= 0, "
                        f"got {per_type!r}")
    kg = Path(raw.get("kg", "synth/kg"))
    if not kg.is_dir():
        problems.append(f"{path}: kg folder '{kg}' not found")
    templates = Path((raw.get("grammar") or {}).get("templates", "synth/grammar"))
    if not templates.is_dir():
        problems.append(f"{path}: grammar.templates folder '{templates}' not found")
    # No `intents:` at all: an even share of every taxonomy intent; a mapping must weigh each one.
    raw_intents = raw.get("intents", {i: 1 for i in tax.intent_names})
    problems += missing_weights(raw_intents, tax, path)
    intents = _share_map(raw_intents, tax.intent_names, f"{path}: intents", problems)
    if intents and sum(intents.values()) <= 0:
        problems.append(f"{path}: intents: shares must not all be zero")
    intents = {k: v for k, v in intents.items() if v > 0}  # weight 0 leaves an intent out
    problems += missing_templates(intents, templates, path)
    targets = _share_map(raw.get("entity_targets", {}), tax.entity_names, f"{path}: entity_targets", problems,
                         hi=1)
    mode = raw.get("entity_targets_mode", "warn")
    if mode not in TARGET_MODES:
        problems.append(f"{path}: entity_targets_mode: must be one of {', '.join(TARGET_MODES)}, "
                        f"got {mode!r}")
    problems += _backend_problems(raw, backend, path)
    problems += _min_records_problems(raw.get("min_records"), path)
    from synth.pools import OpenPoolConfig

    open_pools: dict[str, Any] = {}
    try:
        open_pools = OpenPoolConfig.from_mapping(raw.get("open_pools"), f"{path}: open_pools").to_dict()
    except ConfigError as exc:
        problems += exc.problems
    from synth.paraphrase import load_paraphrase_config

    paraphrase: dict[str, Any] = {}
    try:
        paraphrase = load_paraphrase_config(raw.get("paraphrase"), f"{path}: paraphrase").resolved()
    except ConfigError as exc:
        problems += exc.problems
    exclusions: dict[str, Any] = {}
    try:
        from synth.exclusions import ExclusionConfig

        exclusions = ExclusionConfig.from_mapping(raw.get("exclusions"), tax, f"{path}: exclusions").to_dict()
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems)

    total = sum(intents.values())
    return DataConfig(
        path=str(path), name=str(raw["name"]), seed=int(raw["seed"]), n=int(raw["n"]),
        taxonomy=str(tax_path), kg=str(kg), out=str(raw.get("out", f"data/{raw['name']}")),
        backend=backend, grammar=dict(raw.get("grammar") or {}), openai=dict(raw.get("openai") or {}),
        local=dict(raw.get("local") or {}),
        intents={k: v / total for k, v in intents.items()}, entity_targets=targets,
        entity_targets_mode=str(mode),
        oversample=float(raw.get("oversample", 1.25)), max_rounds=int(raw.get("max_rounds", 4)),
        near_dedup=bool(dedup_raw.get("near", True)),
        near_threshold=float(dedup_raw.get("near_threshold", 0.95)),
        split=split, system_prompt=str((raw.get("chat") or {}).get("system_prompt", "")).strip(),
        min_records=raw.get("min_records"), open_pools=open_pools, paraphrase=paraphrase,
        exclusions=exclusions, tax=tax,
    )
