"""Turn audit results into audit.md, audit.html and audit.json."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from audit.config import AuditConfig
from audit.plots import plot_for
from audit.sqlfiles import Result
from report.document import Block, Document, Figure, Section, Table, write_document

SECTION_TITLES = {
    "balance": "Balance: intents and entity types vs targets",
    "values": "Entity values: top values and long tail",
    "length": "Query length",
    "diversity": "Diversity",
    "duplicates": "Duplicates",
    "leakage": "Leakage between splits",
    "cooccurrence": "Co-occurrence",
    "representativeness": "Representativeness: what the KG and the data cover",
    "other": "Other queries",
}


def plain(value: Any) -> Any:
    """DuckDB values as JSON-friendly Python (Decimal -> float, dates -> ISO strings)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def status(r: Result) -> str:
    if r.error:
        return "error"
    if not r.file.is_check:
        return "info"
    return "fail" if r.rows else "pass"


def check_line(r: Result) -> str:
    """The one line the CLI prints for a failing check."""
    f = r.file
    if r.error:
        return f"ERROR {f.name}: {r.error}"
    first = ", ".join(f"{c}={plain(v)}" for c, v in zip(r.columns, r.rows[0], strict=True))
    return (f"WARNING check {f.name} failed (severity={f.severity}, threshold={f.threshold:g}): "
            f"{len(r.rows)} offending row(s); first: {first}")


def _block(r: Result, max_rows: int, dpi: int) -> list[Block]:
    f = r.file
    head = f"`{f.name}.sql`"
    if f.is_check:
        head += f" (check, severity {f.severity}, threshold {f.threshold:g} from {f.threshold_from})"
    if r.error:
        return [Block(text=f"{head}: {r.error}", status="error")]
    blocks = [Block(text=f"{head}: {f.description}", status=status(r))]
    if f.is_check and not r.rows:
        return blocks
    rows = [tuple(plain(v) for v in row) for row in r.rows]
    png = plot_for(f.name, r.records(), dpi)
    if png:
        blocks.append(Block(figure=Figure(f.name, png, f.name)))
    total = len(rows) if len(rows) > max_rows else None
    blocks.append(Block(table=Table(r.columns, rows[:max_rows], total)))
    return blocks


def build_document(results: list[Result], cfg: AuditConfig, intro: list[str]) -> Document:
    checks = [r for r in results if r.file.is_check or r.error]
    summary = Table(["check", "section", "severity", "threshold", "status", "offending rows"],
                    [(r.file.name, r.file.section, r.file.severity or "", r.file.threshold, status(r),
                      len(r.rows)) for r in checks])
    failed = sum(r.failed for r in checks)
    doc = Document("Dataset audit", intro, [Section("Checks", [
        Block(text=f"{len(checks)} checks, {failed} failing. "
                   "A check's rows are its offenders; zero rows = pass."),
        Block(table=summary)])])
    order = cfg.sections + sorted({r.file.section for r in results} - set(cfg.sections))
    for name in order:
        # Tables first, then the checks that judge them.
        members = sorted((r for r in results if r.file.section == name), key=lambda r: r.file.is_check)
        if members:
            blocks = [b for r in members for b in _block(r, cfg.max_rows, cfg.dpi)]
            title = SECTION_TITLES.get(name, name.replace("_", " ").capitalize())
            doc.sections.append(Section(title, blocks))
    return doc


def audit_json(results: list[Result], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "checks": {r.file.name: {"severity": r.file.severity, "threshold": r.file.threshold,
                                 "status": status(r), "offending_rows": len(r.rows), "error": r.error}
                   for r in results if r.file.is_check or r.error},
        "tables": {r.file.name: {"section": r.file.section, "columns": r.columns,
                                 "rows": [[plain(v) for v in row] for row in r.rows]} for r in results},
    }


def write_report(results: list[Result], cfg: AuditConfig, out_dir: Path, intro: list[str],
                 meta: dict[str, Any]) -> tuple[Path, Path, Path]:
    md, html = write_document(build_document(results, cfg, intro), out_dir, "audit")
    js = out_dir / "audit.json"
    js.write_text(json.dumps(audit_json(results, meta), indent=1, ensure_ascii=False, default=str) + "\n",
                  encoding="utf-8")
    return md, html, js
