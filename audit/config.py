"""audit/config.yml: strict loading, every problem reported at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas import ConfigError, Taxonomy, load_yaml, unknown_keys

DEFAULT_CONFIG = Path(__file__).with_name("config.yml")
TOP_KEYS = ("report", "params", "heldout_seed_pools", "checks")
REPORT_KEYS = ("max_rows", "dpi", "sections")
CHECK_KEYS = ("severity", "threshold")
SEVERITIES = ("warn", "error")


@dataclass
class CheckOverride:
    severity: str | None = None
    threshold: float | None = None


@dataclass
class AuditConfig:
    path: str
    max_rows: int = 20
    dpi: int = 100
    sections: list[str] = field(default_factory=list)
    params: dict[str, float] = field(default_factory=dict)
    heldout_seed_pools: list[str] = field(default_factory=list)
    checks: dict[str, CheckOverride] = field(default_factory=dict)

    def seed_types(self, tax: Taxonomy) -> list[str]:
        """Entity types whose KG pool is one of `heldout_seed_pools`, in taxonomy order."""
        return [t.name for t in tax.entity_types.values() if t.source in self.heldout_seed_pools]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_audit_config(path: str | Path = DEFAULT_CONFIG) -> AuditConfig:
    raw = load_yaml(path) or {}
    where = str(path)
    if not isinstance(raw, dict):
        raise ConfigError([f"{where}: top level must be a mapping"])
    problems = unknown_keys(raw, TOP_KEYS, where)
    problems += [f"{where}: {k}: must be a mapping, got {raw[k]!r}" for k in ("report", "params", "checks")
                 if raw.get(k) is not None and not isinstance(raw[k], dict)]
    if not problems:
        problems += [f"{where}: checks.{name}: must be a mapping of severity, threshold, got {spec!r}"
                     for name, spec in (raw.get("checks") or {}).items()
                     if spec is not None and not isinstance(spec, dict)]
    if problems:
        raise ConfigError(problems)
    report = raw.get("report") or {}
    problems += unknown_keys(report, REPORT_KEYS, f"{where}: report")
    max_rows = report.get("max_rows", 20)
    dpi = report.get("dpi", 100)
    for key, value in (("max_rows", max_rows), ("dpi", dpi)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{where}: report.{key} must be a positive integer, got {value!r}")
    params = raw.get("params") or {}
    for name, value in params.items():
        if not str(name).isidentifier():
            problems.append(f"{where}: params.{name}: not a valid SQL macro name; use letters, digits, _")
        if not _number(value):
            problems.append(f"{where}: params.{name}: must be a number, got {value!r}")
    pools = raw.get("heldout_seed_pools") or []
    if not isinstance(pools, list):
        problems.append(f"{where}: heldout_seed_pools must be a list of KG pool names")
        pools = []
    checks: dict[str, CheckOverride] = {}
    for name, spec in (raw.get("checks") or {}).items():
        spec = spec or {}
        problems += unknown_keys(spec, CHECK_KEYS, f"{where}: checks.{name}")
        sev, thr = spec.get("severity"), spec.get("threshold")
        if sev is not None and sev not in SEVERITIES:
            problems.append(f"{where}: checks.{name}.severity: '{sev}' is not one of {', '.join(SEVERITIES)}")
        if thr is not None and not _number(thr):
            problems.append(f"{where}: checks.{name}.threshold: must be a number, got {thr!r}")
        checks[name] = CheckOverride(sev, float(thr) if _number(thr) else None)
    if problems:
        raise ConfigError(problems)
    sections = [str(s) for s in report.get("sections") or []]
    return AuditConfig(path=where, max_rows=max_rows, dpi=dpi, sections=sections,
                       params={str(k): float(v) for k, v in params.items()},
                       heldout_seed_pools=[str(p) for p in pools], checks=checks)
