"""The data recipe (`recipes/data/*.yml`): load, check every key, resolve overrides."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from schemas import ConfigError, Taxonomy, load_taxonomy, load_yaml, unknown_keys

BACKENDS = ("grammar", "openai", "local")
STRATEGIES = ("random", "heldout")
TOP_KEYS = ("name", "seed", "n", "taxonomy", "kg", "out", "backend", "grammar", "openai", "local",
            "intents", "entity_targets", "oversample", "max_rounds", "dedup", "split", "chat", "open_pools")
SPLIT_KEYS = ("strategy", "validation", "test", "heldout", "heldout_templates", "heldout_entities")
DEDUP_KEYS = ("near", "near_threshold")


@dataclass
class SplitConfig:
    strategy: str = "heldout"
    validation: float = 0.05
    test: float = 0.05
    heldout: float = 0.10
    heldout_templates: float = 0.2
    heldout_entities: float = 0.2


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
    open_pools: dict[str, Any] = field(default_factory=dict)  # synth.pools.OpenPoolConfig, resolved
    tax: Taxonomy = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def resolved(self) -> dict[str, Any]:
        """The config as written to the manifest: plain data, every default filled in."""
        d = asdict(self)
        d.pop("tax")
        return d


def _share_map(raw: Any, labels: list[str], where: str, problems: list[str]) -> dict[str, float]:
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping label -> share")
        return {}
    for k, v in raw.items():
        if k not in labels:
            problems.append(f"{where}: unknown label '{k}' (not in the taxonomy; known: {', '.join(labels)})")
        elif not isinstance(v, (int, float)) or v < 0:
            problems.append(f"{where}.{k}: share must be a number >= 0, got {v!r}")
    return {k: float(v) for k, v in raw.items() if k in labels and isinstance(v, (int, float))}


def _backend_problems(raw: dict[str, Any], backend: str, path: Path) -> list[str]:
    """Check the chosen backend's section now, so --check catches it before any heavy work."""
    grammar = raw.get("grammar") or {}
    problems = unknown_keys(grammar, ("templates", "noise"), f"{path}: grammar")
    try:
        if backend == "grammar":
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
        problems.append(f"{path}: split shares validation + test + heldout must be < 1")
    if not isinstance(raw["n"], int) or raw["n"] < 1:
        problems.append(f"{path}: n must be a positive integer, got {raw['n']!r}")
    kg = Path(raw.get("kg", "synth/kg"))
    if not kg.is_dir():
        problems.append(f"{path}: kg folder '{kg}' not found")
    templates = Path((raw.get("grammar") or {}).get("templates", "synth/grammar"))
    if not templates.is_dir():
        problems.append(f"{path}: grammar.templates folder '{templates}' not found")
    intents = _share_map(raw.get("intents", {i: 1 for i in tax.intent_names}), tax.intent_names,
                         f"{path}: intents", problems)
    if intents and sum(intents.values()) <= 0:
        problems.append(f"{path}: intents: shares must not all be zero")
    targets = _share_map(raw.get("entity_targets", {}), tax.entity_names, f"{path}: entity_targets", problems)
    problems += _backend_problems(raw, backend, path)
    from synth.pools import OpenPoolConfig

    open_pools: dict[str, Any] = {}
    try:
        open_pools = OpenPoolConfig.from_mapping(raw.get("open_pools"), f"{path}: open_pools").to_dict()
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
        oversample=float(raw.get("oversample", 1.25)), max_rounds=int(raw.get("max_rounds", 4)),
        near_dedup=bool(dedup_raw.get("near", True)),
        near_threshold=float(dedup_raw.get("near_threshold", 0.95)),
        split=split, system_prompt=str((raw.get("chat") or {}).get("system_prompt", "")).strip(),
        open_pools=open_pools, tax=tax,
    )
