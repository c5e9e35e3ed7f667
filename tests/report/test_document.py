"""report/: the document model every report shares, its Markdown table, and the layering it allows."""

import subprocess
from pathlib import Path

from report.document import Block, Document, Figure, Section, Table, markdown_table, write_document
from report.figures import b64, pyplot, to_png

ROOT = Path(__file__).resolve().parents[2]


def test_markdown_table_escapes_cells_not_header():
    text = markdown_table(["a|b", "n"], [{"a|b": "x|y", "n": 0.5}, {"a|b": "two\nlines", "n": None}])
    assert text.splitlines() == ["| a|b | n |", "|---|---|", "| x\\|y | 0.5 |", "| two lines |  |"]


def test_write_document_markdown_html_and_plot(tmp_path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    png = to_png(fig, 50)
    doc = Document("Title", ["intro"], [Section("First part", [
        Block(text="checked", status="pass"), Block(table=Table(["k", "v"], [("a", 1.23456)], total=9)),
        Block(figure=Figure("curve", png))])])
    md, html = write_document(doc, tmp_path, "doc")
    text = md.read_text()
    assert "## First part" in text and "**[PASS]** checked" in text and "| a | 1.235 |" in text
    assert "_9 rows; the first 1 shown._" in text and "](plots/curve.png)" in text
    assert (tmp_path / "plots/curve.png").read_bytes() == png
    page = html.read_text()
    assert 'id="first-part"' in page and b64(png) in page


def test_audit_and_eval_do_not_import_each_other():
    """The renderer sits below both, so neither borrows from the other."""
    def grep(pattern: str, folder: str) -> str:
        return subprocess.run(["git", "grep", "-n", "-E", pattern, "--", folder], cwd=ROOT,
                              capture_output=True, text=True).stdout
    assert grep(r"^\s*(from|import) eval\b", "audit/") == ""
    assert grep(r"^\s*(from|import) audit\b", "eval/") == ""
    assert grep(r"^\s*(from|import) (eval|audit|synth|decoding|train|search|serve)\b", "report/") == ""
