"""eval/results.py: the README's results table and docs/results.md are what the command renders from
docs/results.json, so a figure in them cannot be typed by hand or go stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import results
from schemas import ConfigError


def test_readme_table_and_results_page_are_rendered_from_results_json() -> None:
    res = json.loads(results.RESULTS_JSON.read_text(encoding="utf-8"))
    assert results.readme_table(results.README.read_text(encoding="utf-8")) == results.readme_block(res), \
        "README.md's results table was edited by hand: run python -m eval.results --render"
    assert results.RESULTS_MD.read_text(encoding="utf-8") == results.results_md(res), \
        "docs/results.md was edited by hand: run python -m eval.results --render"


def metrics(system: str, split: str, f1: float) -> dict:
    avg = {"macro_avg": {"f1": f1}}
    return {"n_queries": 10, "intent": avg, "entities": {**avg, "by_group": {"names": avg}},
            "exact_match": 0.5, "schema_valid_rate": 1.0,
            "meta": {"system": system, "split": split, "n_available": 20 if system == "zero_shot" else 10,
                     "lora_r": 16, "data_manifest": "abc", "decode": {"engine": "fast"}}}


def fake_run(root: Path) -> Path:
    run = root / "runs" / "r"
    for system, split, f1 in [("finetuned", "test", 0.9), ("finetuned", "heldout", 0.8), ("zero_shot", "test", 0.1)]:
        (run / "eval" / system / split).mkdir(parents=True)
        (run / "eval" / system / split / "metrics.json").write_text(json.dumps(metrics(system, split, f1)))
    (run / "eval" / "finetuned" / ".test.tmp-1").mkdir()  # a killed run's leftover is never a result
    (run / "run_card.json").write_text(json.dumps({"recipe": "recipes/x.yml", "steps": 380, "train_runtime_s": 600.0}))
    ext = run / "external" / "mit-movie"
    ext.mkdir(parents=True)
    ext.joinpath("external.json").write_text(json.dumps({
        "name": "mit-movie", "import": {"queries": 400, "mapped_types": ["actor", "genre"]},
        "systems": {"finetuned": {"entity_macro_f1": 0.4, "entity_relaxed_macro_f1": 0.5,
                                  "intervals": {"metrics": {"entity_f1": {"lo": 0.35, "hi": 0.45}}}}}}))
    return run


def test_collect_reads_every_system_split_the_run_card_and_real_queries(tmp_path: Path) -> None:
    res = results.collect(fake_run(tmp_path), "make results RUN=runs/r")
    assert [(r["system"], r["split"], r["queries"]) for r in res["rows"]] == [
        ("finetuned", "test", "10"), ("finetuned", "heldout", "10"), ("zero_shot", "test", "10 of 20")]
    assert res["lora_r"] == 16 and res["training"] == {"recipe": "recipes/x.yml", "steps": 380, "train_runtime_s": 600.0}
    block = results.readme_block(json.loads(json.dumps(res)))  # what --render reads back
    assert "| finetuned | heldout | 10 | 0.800 | 0.800 | 0.800 | 0.500 | 1.000 |" in block
    assert "trained 380 steps in 10.0 min" in block and "`make results RUN=runs/r`" in block
    assert "mit-movie, 400 queries, 2 shared types): entity macro-F1 0.400 (relaxed 0.500)" in block
    assert "| mit-movie | 400 | actor, genre | 0.400 | [0.350, 0.450] | 0.500 |" in results.results_md(res)


def test_a_run_without_scores_or_a_readme_without_markers_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run make eval RUN="):
        results.collect(tmp_path, "make results")
    with pytest.raises(ConfigError, match="expected one <!-- results:begin -->"):
        results.with_block("# no markers\n", "table")
    replaced = results.with_block(f"a\n{results.BEGIN}\nold\n{results.END}\nb\n", "new")
    assert replaced == f"a\n{results.BEGIN}\nnew\n{results.END}\nb\n" and results.readme_table(replaced) == "new"
