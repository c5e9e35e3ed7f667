"""Find the audit's SQL files, read their header comments, run them.

A file's leading `--` comment lines are its header:
  -- section: balance                          which report section it joins (default: other)
  -- check: severity=warn threshold=0.9        makes it a check: its rows are the offenders
  -- any other comment line                    the description shown in the report
Before a check runs, `threshold()` is a SQL macro returning its threshold, so the number lives in one
place (the header, or an override in audit/config.yml) and never inside the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from audit.config import SEVERITIES, AuditConfig
from schemas import ConfigError
from schemas.config import did_you_mean
from schemas.sql_project import SQL_ROOT

SQL_DIR = SQL_ROOT / "audit"
_KEY = re.compile(r"^--\s*(section|check):\s*(.*)$")


@dataclass
class SqlFile:
    path: Path
    section: str = "other"
    description: str = ""
    severity: str | None = None     # None: a table, not a check
    threshold: float | None = None
    threshold_from: str = "header"  # header | config

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def is_check(self) -> bool:
        return self.severity is not None


@dataclass
class Result:
    file: SqlFile
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    error: str | None = None

    @property
    def failed(self) -> bool:
        """A check with offending rows (or a file that could not run)."""
        return self.error is not None or (self.file.is_check and bool(self.rows))

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def _parse_check(text: str, path: Path) -> tuple[str, float]:
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    unknown = [k for k in fields if k not in ("severity", "threshold")]
    severity, threshold = fields.get("severity"), fields.get("threshold")
    problems = [f"{path}: check header: unknown key '{k}'{did_you_mean(k, ('severity', 'threshold'))}"
                for k in unknown]
    if severity not in SEVERITIES:
        problems.append(f"{path}: check header: severity must be one of {', '.join(SEVERITIES)}, "
                        f"got {severity!r}; write `-- check: severity=warn threshold=0.1`")
    try:
        value = float(threshold)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        problems.append(f"{path}: check header: threshold must be a number, got {threshold!r}; "
                        "write `-- check: severity=warn threshold=0.1`")
        value = 0.0
    if problems:
        raise ConfigError(problems)
    return str(severity), value


def parse_header(path: Path) -> SqlFile:
    out = SqlFile(path)
    description: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line.startswith("--"):
            break
        m = _KEY.match(line)
        if m and m.group(1) == "section":
            out.section = m.group(2).strip()
        elif m:
            out.severity, out.threshold = _parse_check(m.group(2), path)
        else:
            description.append(line[2:].strip())
    out.description = " ".join(d for d in description if d)
    return out


def discover(sql_dir: Path, cfg: AuditConfig) -> list[SqlFile]:
    """Every *.sql in `sql_dir`, sorted, with config overrides applied; unknown overrides are errors."""
    if not sql_dir.is_dir():
        raise ConfigError([f"{sql_dir}: SQL folder not found; pass --sql-dir sql/audit"])
    files = [parse_header(p) for p in sorted(sql_dir.glob("*.sql"))]
    if not files:
        raise ConfigError([f"{sql_dir}: no .sql files; the audit has nothing to run"])
    by_name = {f.name: f for f in files}
    problems = []
    for name, over in cfg.checks.items():
        target = by_name.get(name)
        if target is None or not target.is_check:
            checks = [f.name for f in files if f.is_check]
            problems.append(f"{cfg.path}: checks.{name}: no check file {sql_dir}/{name}.sql"
                            f"{did_you_mean(name, checks)}")
            continue
        target.severity = over.severity or target.severity
        if over.threshold is not None:
            target.threshold, target.threshold_from = over.threshold, "config"
    if problems:
        raise ConfigError(problems)
    return files


def run_file(con: duckdb.DuckDBPyConnection, f: SqlFile) -> Result:
    """Run one file; a DuckDB error becomes the result's error, naming the file."""
    if f.is_check:
        con.execute(f"create or replace macro threshold() as cast({f.threshold!r} as double)")
    else:
        con.execute("drop macro if exists threshold")
    try:
        rel = con.sql(f.path.read_text(encoding="utf-8"))
        if rel is None:
            return Result(f, error=f"{f.path}: returned no result set; end it with `select * from final`")
        return Result(f, list(rel.columns), rel.fetchall())
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        return Result(f, error=f"{f.path}: {first}")
