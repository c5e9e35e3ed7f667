"""A small document model (sections of text, tables, figures) written as Markdown and as one
self-contained HTML file (inline CSS, figures as base64 PNG). Shared by the audit, robustness and
external-corpus reports so they look alike; the Jinja environment and the Markdown table are the
eval report's too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from report.figures import b64

TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    total: int | None = None  # rows before truncation, when more than shown


@dataclass
class Figure:
    name: str  # file stem under plots/ for the Markdown version
    png: bytes
    caption: str = ""


@dataclass
class Block:
    text: str = ""
    table: Table | None = None
    figure: Figure | None = None
    status: str | None = None  # pass | fail | error: a badge before the text


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)
    anchor: str = ""


@dataclass
class Document:
    title: str
    intro: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def md_cell(value: Any) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def markdown_table(columns: Sequence[str], rows: Iterable[Mapping[str, Any]],
                   cell: Callable[[Any], str] = md_cell) -> str:
    """A Markdown table of `rows` (dicts) under `columns`, each value written by `cell`."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def environment(templates: Path, **filters: Callable[..., Any]) -> jinja2.Environment:
    """Jinja for a report's templates: strict, HTML autoescaped, block tags trimmed, plus `filters`."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(["html.jinja"]), keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(filters)
    return env


def write_document(doc: Document, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """Write <stem>.md (figures as plots/*.png beside it) and self-contained <stem>.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for section in doc.sections:
        section.anchor = section.anchor or slug(section.title)
        for block in section.blocks:
            if block.figure is not None:
                (out_dir / "plots").mkdir(exist_ok=True)
                (out_dir / "plots" / f"{block.figure.name}.png").write_bytes(block.figure.png)
    env = environment(TEMPLATES, fmt=fmt, md_cell=md_cell, b64=b64)
    md, html = out_dir / f"{stem}.md", out_dir / f"{stem}.html"
    md.write_text(env.get_template("document.md.jinja").render(doc=doc), encoding="utf-8")
    html.write_text(env.get_template("document.html.jinja").render(doc=doc), encoding="utf-8")
    return md, html
