"""`python -m eval` end to end on the non-LLM baseline (two fabricated runs), then eval.compare's leaderboard.

The LLM systems go through eval.predict.predict_records with the real SmolLM2 weights in the slow test.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from fabricate import make_records, write_jsonl

from basemodel.smollm2 import ensure_smollm2
from eval import __main__ as eval_main
from eval import compare
from eval.pipeline import load_split
from eval.runs import short_hash
from schemas import ConfigError, load_taxonomy

TAX = load_taxonomy()
ROOT = Path(__file__).resolve().parents[2]
BASE_MODEL = ROOT / "models" / "smollm2-135m-instruct"


MANIFEST_SHA256 = {"train.jsonl": "ab"}


def make_data(root: Path, name: str = "fab", sha256: dict[str, str] = MANIFEST_SHA256) -> Path:
    data = root / "data" / name
    for split, n, seed in (("train", 200, 1), ("test", 60, 2), ("heldout", 40, 3)):
        write_jsonl(data / f"{split}.jsonl", make_records(TAX, n, split, seed))
    (data / "manifest.json").write_text(json.dumps({"system_prompt": "Extract.", "sha256": sha256}))
    return data


def make_run(root: Path, name: str, lora_r: int, base_model: Path = BASE_MODEL) -> Path:
    run = root / "runs" / name
    run.mkdir(parents=True)
    (run / "adapter_model.safetensors").write_bytes(b"")
    card = {"recipe": f"recipes/{name}.yml", "data": {"manifest_sha256": MANIFEST_SHA256},
            "resolved_config": {"base_model": str(base_model), "lora_r": lora_r}}
    (run / "run_card.json").write_text(json.dumps(card))
    return run


def fast_config(root: Path, **replace: str) -> Path:
    """eval/config.yml with low-resolution charts (same code path, quicker tests)."""
    text = (ROOT / "eval/config.yml").read_text().replace("dpi: 100", "dpi: 30")
    for old, new in replace.items():
        assert old in text, f"eval/config.yml no longer holds {old!r}: update the test"
        text = text.replace(old, new)
    (root / "eval.yml").write_text(text)
    return root / "eval.yml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("proj")
    data, cfg = make_data(root), str(fast_config(root))
    first = make_run(root, "run-a", 8)
    eval_main.main(["--run", str(first), "--data", str(data), "--systems", "baseline", "--limit", "30",
                    "--config", cfg])
    second = make_run(root, "run-b", 16)
    os.utime(second / "adapter_model.safetensors", (time.time() + 5, time.time() + 5))
    # no --run: the newest run folder with an adapter; every split, whole splits
    eval_main.main(["--runs-root", str(root / "runs"), "--data", str(data), "--systems", "baseline",
                    "--limit", "0", "--config", cfg])
    return root / "runs"


def test_eval_writes_the_documented_layout(runs: Path) -> None:
    for run, n in (("run-a", 30), ("run-b", 60)):
        out = runs / run / "eval" / "baseline" / "test"
        for name in ("predictions.parquet", "outputs.jsonl", "metrics.json", "tables/per_class_intent.csv"):
            assert (out / name).is_file(), out / name
        m = json.loads((out / "metrics.json").read_text())
        assert m["n_queries"] == n and m["meta"]["n_available"] == 60
        assert m["meta"]["system"] == "baseline" and m["meta"]["split"] == "test"
        assert m["meta"]["recipe"] == f"recipes/{run}.yml" and m["meta"]["lora_r"] is None
        assert (runs / run / "eval" / "report.html").is_file() and (runs / run / "eval" / "report.md").is_file()
        worst = json.loads((out / "tables/worst_errors.json").read_text())
        assert all(w["query"] for w in worst)
        iv = m["intervals"]  # resampled by template: fabricated records have one per intent
        scored = load_split(runs.parent / "data" / "fab", "test", n if n < 60 else None, 0)[0]
        templates = {r["meta"]["template_id"] for r in scored}
        assert iv["clusters"] == len(templates) > 1
        assert iv["metrics"]["entity_f1"]["value"] == pytest.approx(m["entities"]["macro_avg"]["f1"])
        assert iv["metrics"]["intent_f1"]["lo"] <= iv["metrics"]["intent_f1"]["hi"]
        assert iv["metrics"]["intent_f1"]["resamples"] == iv["resamples"] == 1000
        report = (runs / run / "eval" / "report.md").read_text()
        assert f"intervals from resampling the {len(templates)} templates" in report


def test_subsets_are_seeded_and_nested(runs: Path) -> None:
    data = runs.parent / "data" / "fab"

    def ids(limit: int | None, seed: int) -> list[str]:
        return [r["id"] for r in load_split(data, "test", limit, seed)[0]]

    assert ids(30, 0) == ids(30, 0) != ids(30, 1)
    assert ids(30, 0) == sorted(ids(30, 0))  # file order kept
    assert set(ids(10, 0)) < set(ids(30, 0)) < set(ids(None, 0))  # a slower system's subset is nested
    assert load_split(data, "test", 30, 0)[1] == 60


def test_leaderboard_is_one_query_over_all_metrics(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    compare.main([str(runs)])
    printed = capsys.readouterr().out
    columns, rows = compare.leaderboard(runs)
    assert columns[:6] == ["run", "system", "recipe", "base_model", "lora_r", "data_manifest"]
    assert columns.index("test_intent_f1") < columns.index("heldout_intent_f1")
    assert [r["run"] for r in rows] == sorted((r["run"] for r in rows),
                                              key=lambda run: -next(x["mean_exact_match"] for x in rows
                                                                    if x["run"] == run))
    by_run = {Path(r["run"]).name: r for r in rows}
    assert set(by_run) == {"run-a", "run-b"}
    m = json.loads((runs / "run-a/eval/baseline/heldout/metrics.json").read_text())
    assert by_run["run-a"]["heldout_intent_f1"] == m["intent"]["macro_avg"]["f1"]
    assert by_run["run-a"]["heldout_exact_match"] == m["exact_match"]
    assert by_run["run-a"]["test_n"] == 30 and by_run["run-b"]["test_n"] == 60
    assert by_run["run-a"]["data_manifest"] == short_hash({"train.jsonl": "ab"})
    md = (runs / "leaderboard.md").read_text()
    assert "| run | system | recipe |" in md and "run-a" in printed and "run-b" in md


def test_predictions_are_reused_when_inputs_are_unchanged(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = runs.parent / "data" / "fab"
    args = ["--run", str(runs / "run-a"), "--data", str(data), "--systems", "baseline", "--limit", "30",
            "--splits", "test", "--config", str(runs.parent / "eval.yml")]
    eval_main.main(args)
    assert "reusing" in capsys.readouterr().out
    eval_main.main(args + ["--force"])
    assert "reusing" not in capsys.readouterr().out


def test_refuses_data_other_than_the_training_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run trained on one dataset is not scored on another (a later make data SEED=7) by accident."""
    other = make_data(tmp_path, "seed7", {"train.jsonl": "cd"})
    run = make_run(tmp_path, "r", 8)
    args = ["--run", str(run), "--data", str(other), "--systems", "baseline", "--splits", "test",
            "--limit", "10", "--config", str(fast_config(tmp_path))]
    with pytest.raises(SystemExit) as err:
        eval_main.main(args)
    assert err.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    want, got = short_hash({"train.jsonl": "ab"}), short_hash({"train.jsonl": "cd"})
    assert len(lines) == 1 and want in lines[0] and got in lines[0] and "--allow-other-data" in lines[0]
    assert not (run / "eval").exists()
    eval_main.main(args + ["--allow-other-data"])
    meta = json.loads((run / "eval/baseline/test/metrics.json").read_text())["meta"]
    assert meta["allow_other_data"] is True
    assert (meta["data_manifest"], meta["train_data_manifest"]) == (got, want)


def test_bad_input_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def fails(args: list[str], pattern: str) -> str:
        with pytest.raises(SystemExit) as err:
            eval_main.main(args)
        text = capsys.readouterr().err
        assert err.value.code == 2 and re.search(pattern, text), text
        return text

    fails(["--systems", "finetuneed", "--run", str(tmp_path)], r"--systems: unknown value\(s\) finetuneed; choose from")
    fails(["--runs-root", str(tmp_path), "--systems", "baseline"], r"no run folder with adapter_model\.safetensors")
    run = tmp_path / "r"
    run.mkdir()
    fails(["--run", str(run), "--systems", "baseline"], r"r/run_card\.json: file not found")
    with pytest.raises(ConfigError, match=r"no eval/<system>/<split>/metrics\.json"):
        compare.leaderboard(tmp_path)
    data = make_data(tmp_path)
    run = make_run(tmp_path, "x", 4, base_model=tmp_path)  # any existing folder: fails before loading it
    fails(["--run", str(run), "--data", str(data), "--systems", "finetuned"],
          r"runs/x: no adapter_config\.json; pass the run folder")
    bad = fast_config(tmp_path, **{"limit: null": "limt: null", "dpi: 30": "dpi: 0"})
    text = fails(["--run", str(run), "--data", str(data), "--config", str(bad)], "limt")
    assert "unknown key 'limt' (did you mean 'limit'?)" in text
    assert "missing key 'limit'" in text
    for split in ("test", "heldout"):
        (data / f"{split}.jsonl").unlink()
    fails(["--run", str(run), "--data", str(data), "--systems", "baseline"],
          r"none of the splits test, heldout exists")


@pytest.mark.slow
def test_llm_systems_end_to_end_with_real_weights(tmp_path: Path) -> None:
    """zero_shot = the base SmolLM2 through eval.predict.predict_records (2 queries, few tokens)."""
    ensure_smollm2(BASE_MODEL)
    data = make_data(tmp_path)
    run = make_run(tmp_path, "llm", 8)
    cfg = fast_config(tmp_path, **{"max_new_tokens: 128": "max_new_tokens: 24"})
    eval_main.main(["--run", str(run), "--data", str(data), "--systems", "zero_shot", "--splits", "test",
                    "--limit", "2", "--config", str(cfg)])
    m = json.loads((run / "eval/zero_shot/test/metrics.json").read_text())
    assert m["n_queries"] == 2 and m["meta"]["base_model"] == str(BASE_MODEL)
    assert sum(m["status_counts"].values()) == 2
    assert (run / "eval/report.html").is_file()
