"""python -m eval.robustness end to end with the non-LLM baseline (real fit, real sql/scoring scoring, no decoding)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from eval.config import DEFAULT_CONFIG as EVAL_CONFIG
from eval.robustness import DEFAULT_CONFIG
from eval.robustness.__main__ import main
from synth.config import load_data_config
from synth.pipeline import build_dataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("robustness") / "ds"
    build_dataset(load_data_config(ROOT / "recipes/data/default.yml", {"n": 500, "seed": 5, "out": str(out)}),
                  progress=False)
    return out


@pytest.fixture(scope="module")
def eval_config(tmp_path_factory) -> Path:
    """eval/config.yml with a quicker baseline fit (the shipped one takes ~6 s on 2 cores)."""
    raw = yaml.safe_load(EVAL_CONFIG.read_text())
    raw["baseline"].update(char_ngrams=[3, 4], max_iter=200)
    path = tmp_path_factory.mktemp("eval_config") / "config.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def small_config(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["perturbations"] = {k: raw["perturbations"][k] for k in ("typos", "distractor", "paraphrase")}
    raw.update(changes)
    path = tmp_path / "robustness.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_baseline_robustness_report(data, eval_config, tmp_path, capsys):
    run = tmp_path / "run"
    cfg = small_config(tmp_path, systems=["baseline"], limit=20)
    assert main(["--run", str(run), "--data", str(data), "--config", str(cfg), "--eval-config", str(eval_config)]) == 0
    out = run / "robustness"
    result = json.loads((out / "robustness.json").read_text())
    sets = [r["set"] for r in result["rows"]]
    assert sets == ["clean", "typos-low", "typos-med", "typos-high", "distractor-low", "distractor-high",
                    "paraphrase-low", "paraphrase-high"]
    clean = result["rows"][0]
    assert clean["n"] == 20 and clean["intent_drop"] == 0 and clean["entity_drop"] == 0
    # paired template-bootstrap intervals of each drop: none for clean against itself
    assert (clean["intent_drop_lo"], clean["intent_drop_hi"], clean["entity_drop_lo"]) == (0, 0, 0)
    assert all(r[f"{k}_drop_lo"] <= r[f"{k}_drop_hi"] for r in result["rows"] for k in ("intent", "entity"))
    assert any(r["entity_drop_hi"] > r["entity_drop_lo"] for r in result["rows"])
    for row in result["rows"]:
        metrics = json.loads((out / "baseline" / row["set"] / "metrics.json").read_text())
        assert row["entity_macro_f1"] == metrics["entities"]["macro_avg"]["f1"]
        assert row["intent_drop"] == pytest.approx(clean["intent_macro_f1"] - row["intent_macro_f1"], abs=1e-4)
    # typos inside entities change gold values the gazetteer never saw: entity micro F1 must fall (the
    # macro average over 20 queries can rise when a class leaves the set of present classes)
    high = next(r for r in result["rows"] if r["set"] == "typos-high")
    micro = {s: json.loads((out / "baseline" / s / "metrics.json").read_text())["entities"]["micro_avg"]["f1"]
             for s in ("clean", "typos-high")}
    assert micro["typos-high"] < micro["clean"] and high["changed"] == 1.0
    perturbed = [json.loads(line) for line in (out / "sets" / "typos-high.jsonl").open()]
    assert len(perturbed) == 20
    for rec in perturbed:
        assert all(rec["query"][e["start"]:e["end"]] == e["value"] for e in rec["entities"])
    html = (out / "robustness.html").read_text()
    assert "data:image/png;base64," in html and "typos-high" in html
    assert "typos-high" in capsys.readouterr().out


def test_changed_perturbation_is_predicted_again(data, eval_config, tmp_path, capsys):
    """eval's own cache key holds ids, not texts: a changed perturbation must not reuse old predictions."""
    run = tmp_path / "run"
    args = ["--run", str(run), "--data", str(data), "--systems", "baseline", "--limit", "10",
            "--eval-config", str(eval_config)]
    assert main([*args, "--config", str(small_config(tmp_path))]) == 0
    assert "reusing" not in capsys.readouterr().out
    raw = yaml.safe_load(small_config(tmp_path).read_text())
    raw["perturbations"]["typos"]["low"]["count"] = 5
    (tmp_path / "robustness.yml").write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main([*args, "--config", str(tmp_path / "robustness.yml")]) == 0
    reused = [line for line in capsys.readouterr().out.splitlines() if "reusing" in line]
    assert len(reused) == 7 and not any("/typos-low/" in line for line in reused)  # the other sets are reused


def test_bad_config_and_missing_split_are_one_line_errors(data, tmp_path, capsys):
    bad = small_config(tmp_path, split="tets")
    assert main(["--run", str(tmp_path / "run"), "--data", str(data), "--config", str(bad)]) == 2
    assert "split 'tets' is not one of" in capsys.readouterr().err
    assert main(["--run", str(tmp_path / "run"), "--data", str(tmp_path / "nope"), "--systems", "baseline",
                 "--config", str(small_config(tmp_path))]) == 2
    assert "test.jsonl: file not found" in capsys.readouterr().err
