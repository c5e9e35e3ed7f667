"""eval/report.py: report.md and a self-contained report.html from real scored eval folders."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from fabricate import make_records, noisy_rows, polarity_noise, with_exclusions, write_rows

from eval import score
from eval.config import ReportConfig
from eval.report import headline_rows, headline_table, load_results, worst_errors, write_report
from schemas import ConfigError, load_taxonomy

TAX = load_taxonomy()
CFG = ReportConfig(worst_errors=5, dpi=40)  # low dpi: same code path, faster test


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two systems x two splits, scored by eval.score; one with raw outputs and an extra SQL table, one
    (finetuned / test) with entities the user rules out."""
    root = tmp_path_factory.mktemp("run") / "eval"
    for k, (system, split) in enumerate([("finetuned", "test"), ("finetuned", "heldout"),
                                         ("baseline", "test"), ("baseline", "heldout")]):
        records = make_records(TAX, 40, split, seed=k)
        rows = noisy_rows(TAX, records, seed=k)
        if k == 0:
            records = with_exclusions(TAX, records, k)
            rows = polarity_noise(noisy_rows(TAX, records, seed=k), k)
        out = root / system / split
        path = write_rows(out / "predictions.parquet", rows)
        meta = {"run": "run-a", "run_dir": "runs/run-a", "system": system, "split": split,
                "n_available": 100, "limit": 40, "data": "data/x", "recipe": "recipes/r.yml"}
        score.score_predictions(path, out, TAX, {r["id"]: r["query"] for r in records}, meta)
        if system == "finetuned":
            (out / "outputs.jsonl").write_text("".join(
                json.dumps({"id": r["id"], "text": "not json <" + r["id"]}) + "\n" for r in records))
    extra = [{"id": "x1", "note": "a <b>table</b> added by a new SQL file"}]
    (root / "baseline/test/tables/zz_new_check.json").write_text(json.dumps(extra))
    write_report(root, CFG, TAX)
    return root


def test_html_is_self_contained(eval_dir: Path) -> None:
    html = (eval_dir / "report.html").read_text()
    assert "<style>" in html and "<link" not in html and "<script" not in html
    sources = re.findall(r'src="([^"]+)"', html)
    assert len(sources) == 1 + 2 * 4  # overview + (F1 bars, confusion) per system x split
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"(href|src)=\"(https?:|file:|/)", html)


def test_report_covers_every_system_split_and_label(eval_dir: Path) -> None:
    html = (eval_dir / "report.html").read_text()
    md = (eval_dir / "report.md").read_text()
    for doc in (html, md):
        for heading in ("finetuned / test", "finetuned / heldout", "baseline / test", "baseline / heldout"):
            assert heading in doc
        for label in TAX.intent_names + TAX.entity_names + ["macro avg", "micro avg", "weighted avg"]:
            assert label in doc
        assert "zz_new_check" in doc and "40 of 100" in doc
    # systems in SYSTEMS order, splits in SPLITS order
    assert md.index("## finetuned / test") < md.index("## finetuned / heldout") < md.index("## baseline / test")
    # escaped, never raw HTML from data
    assert "a &lt;b&gt;table&lt;/b&gt; added" in html and "<b>table</b>" not in html


def test_worst_errors_show_query_gold_prediction_and_raw_output(eval_dir: Path) -> None:
    result = next(r for r in load_results(eval_dir) if (r.system, r.split) == ("finetuned", "test"))
    every = worst_errors(result, 10_000)
    unparsed = [w for w in every if w["pred_intent"] is None]
    assert unparsed and all(w["output"] == f"not json <{w['id']}" for w in unparsed)
    html = (eval_dir / "report.html").read_text()
    html = html[html.index('<section id="finetuned-test">'):]
    html = html[:html.index("</section>")]
    shown, hidden = every[:CFG.worst_errors], every[CFG.worst_errors:]
    for w in shown:
        assert w["query"] in html and w["id"] in html
        if w["pred_intent"] is None:
            assert f"not json &lt;{w['id']}" in html
    assert hidden and not any(f">{w['id']}<" in html for w in hidden)  # only the top N


def test_markdown_links_existing_figures(eval_dir: Path) -> None:
    md = (eval_dir / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 9
    assert all((eval_dir / link).is_file() for link in links)
    assert md.count(f"| {TAX.intent_names[0]} |") >= 4  # its per-class row in each section


def test_headline_table() -> None:
    m = {"n_queries": 2, "intent": {"macro_avg": {"f1": 0.5}}, "entities": {"macro_avg": {"f1": 0.25}},
         "exact_match": None, "schema_valid_rate": 1.0, "meta": {"system": "s", "split": "test", "n_available": 9}}
    rows = headline_rows([m])
    assert rows == [{"system": "s", "split": "test", "queries": "2 of 9", "intent macro-F1": 0.5,
                     "entity macro-F1": 0.25, "names F1": None, "names any-type F1": None,
                     "closed-vocab F1": None, "exact match": None, "schema-valid": 1.0}]
    assert headline_table(rows).splitlines()[2] == "| s | test | 2 of 9 | 0.500 | 0.250 | n/a | n/a | n/a | n/a | 1.000 |"


def test_exclusions_get_a_headline_column_and_a_section(eval_dir: Path) -> None:
    """The headline's exclusion F1 is there once a split holds a gold exclusion (n/a on the others); each
    section says how excluded entities scored, or that there were none."""
    md = (eval_dir / "report.md").read_text()
    head = md.split("## Headline", 1)[1].split("\n\n", 2)[1].splitlines()
    cols = [c.strip() for c in head[0].strip("|").split("|")]
    assert "exclusion F1" in cols
    cells = {(r[0], r[1]): r[cols.index("exclusion F1")] for r in
             ([c.strip() for c in line.strip("|").split("|")] for line in head[2:])}
    assert cells[("finetuned", "test")] != "n/a" and cells[("baseline", "test")] == "n/a"
    metrics = json.loads((eval_dir / "finetuned/test/metrics.json").read_text())
    assert cells[("finetuned", "test")] == f"{metrics['exclusions']['micro_avg']['f1']:.3f}"
    sections = md.split("\n## ")[2:]
    assert [("| excludable type |" in sec) for sec in sections] == [True, False, False, False]
    assert all("No entity is ruled out" in sec for sec in sections[1:])
    assert "wish read as exclusion" in sections[0]
    html = (eval_dir / "report.html").read_text()
    assert html.count("<th>excludable type</th>") == 1


def test_empty_eval_dir_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no <system>/<split>/metrics\.json; run python -m eval first"):
        write_report(tmp_path, CFG, TAX)
