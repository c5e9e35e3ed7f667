"""A small document model (sections of text, tables, figures) written as Markdown and as one
self-contained HTML file (inline CSS, figures as base64 PNG). Shared by the audit, robustness and
external-corpus reports so they look alike.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

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


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(["html.jinja"]), keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt=fmt, md_cell=md_cell, b64=lambda b: base64.b64encode(b).decode("ascii"))
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
    env = _env()
    md, html = out_dir / f"{stem}.md", out_dir / f"{stem}.html"
    md.write_text(env.get_template("document.md.jinja").render(doc=doc), encoding="utf-8")
    html.write_text(env.get_template("document.html.jinja").render(doc=doc), encoding="utf-8")
    return md, html
