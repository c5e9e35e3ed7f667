"""One audit: relations -> every SQL file -> report files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from audit.config import DEFAULT_CONFIG, AuditConfig, load_audit_config
from audit.db import connect, read_manifest
from audit.report import write_report
from audit.sqlfiles import SQL_DIR, Result, discover, run_file
from schemas import ConfigError, Taxonomy, load_taxonomy
from schemas.atomic import atomic_folder
from schemas.outputs import check_output_folder

# An audit folder written before output folders carried the marker (schemas.outputs).
AUDIT_MARK = (("audit.json", "\"checks\""),)


@dataclass
class Audit:
    results: list[Result]
    paths: list[Path] = field(default_factory=list)
    kg_note: str = ""

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.failed]


def load_kg_for(data_dir: Path, manifest: dict[str, Any], kg_dir: Path | None) -> tuple[Any | None, str]:
    """The KG the dataset was seeded from (manifest config.kg unless given); None with a reason if absent."""
    configured = (manifest.get("config") or {}).get("kg")
    where = kg_dir or (Path(configured) if configured else None)
    if where is None or not where.is_dir():
        return None, (f"No knowledge graph: {where or 'manifest config.kg unset'} is not a folder; "
                      "representativeness tables are empty (pass --kg synth/kg)")
    try:
        from synth.kg import load_kg
    except ImportError as exc:
        return None, f"No knowledge graph: synth.kg unavailable ({exc})"
    kg = load_kg(where)
    return kg, f"Knowledge graph: {where} ({len(kg.titles)} titles)"


def check_seed_pools(cfg: AuditConfig, tax: Taxonomy) -> None:
    sources = {t.source for t in tax.entity_types.values()}
    bad = [p for p in cfg.heldout_seed_pools if p not in sources]
    if bad:
        raise ConfigError([f"{cfg.path}: heldout_seed_pools: '{p}' is the source of no entity type in "
                           f"{tax.path}; pools: {', '.join(sorted(sources))}" for p in bad])


def run_audit(data_dir: str | Path, out_dir: str | Path | None = None, *, sql_dir: str | Path = SQL_DIR,
              config: str | Path = DEFAULT_CONFIG, tax: Taxonomy | None = None, kg: Any | None = None,
              kg_dir: str | Path | None = None, progress: bool = True) -> Audit:
    """Run every SQL file in `sql_dir` over the dataset in `data_dir`; write audit.{md,html,json}."""
    data_dir = Path(data_dir)
    out = Path(out_dir) if out_dir else data_dir / "audit"
    check_output_folder(out, AUDIT_MARK)  # a foreign --out is refused before any query runs
    manifest = read_manifest(data_dir)
    # the taxonomy the dataset was generated with, when its manifest names one that still exists
    named = Path((manifest.get("config") or {}).get("taxonomy") or "")
    tax = tax or (load_taxonomy(named) if named.suffix and named.is_file() else load_taxonomy())
    cfg = load_audit_config(config)
    check_seed_pools(cfg, tax)
    files = discover(Path(sql_dir), cfg)
    if kg is None:
        kg, kg_note = load_kg_for(data_dir, manifest, Path(kg_dir) if kg_dir else None)
    else:
        kg_note = f"Knowledge graph: given ({len(kg.titles)} titles)"
    con = connect(data_dir, tax, cfg, kg)
    try:
        counts = dict(con.execute(
            "select split, count(*) from records group by split order by split").fetchall())
        results = [run_file(con, f) for f in tqdm(files, desc="audit", unit="sql", disable=not progress)]
    finally:
        con.close()
    name, seed = manifest.get("name", "no manifest"), manifest.get("seed", "?")
    intro = [f"Dataset `{data_dir}` ({name}, seed {seed}): "
             + ", ".join(f"{s} {n}" for s, n in counts.items()) + f" records. {kg_note}.",
             f"SQL: `{sql_dir}` ({len(files)} files); settings: `{cfg.path}`. Rebuild: "
             f"`python -m audit --data {data_dir}`."]
    meta = {"data": str(data_dir), "records": counts, "kg": kg_note, "sql_dir": str(sql_dir),
            "config": cfg.path}
    with atomic_folder(out, legacy=AUDIT_MARK) as tmp:  # built beside the old audit, swapped in whole
        paths = [out / p.relative_to(tmp) for p in write_report(results, cfg, tmp, intro, meta)]
    return Audit(results, paths, kg_note)
