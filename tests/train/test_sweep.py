"""train.sweep: grid expansion, strict grid files, every point checked before any trains."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.config import ConfigError
from schemas.outputs import mark_output_folder
from train.run import RunRequest, resolve
from train.sweep import expand, load_grid, run_sweep


def test_shipped_grid_expands_to_one_run_per_value() -> None:
    grid, fixed = load_grid(Path("recipes/sweep.yml"))
    points = expand(grid, fixed)
    assert [name for name, _ in points] == ["lora_r-8", "lora_r-16", "lora_r-32"]
    assert [sets for _, sets in points] == [["lora_r=8"], ["lora_r=16"], ["lora_r=32"]]


def test_cartesian_product_with_fixed_first() -> None:
    points = expand({"lora_r": [8, 16], "learning_rate": [1.0e-3, 5.0e-4]}, {"max_steps": 50})
    assert len(points) == 4
    assert points[1] == ("lora_r-8_learning_rate-0.0005", ["max_steps=50", "lora_r=8", "learning_rate=0.0005"])


def test_bad_grid_file(tmp_path: Path) -> None:
    path = tmp_path / "g.yml"
    path.write_text("grid: {lora_r: 8}\nfixd: {}\n")
    with pytest.raises(ConfigError) as err:
        load_grid(path)
    assert err.value.problems == [f"{path}: unknown key 'fixd' (did you mean 'fixed'?)",
                                  f"{path}: grid.lora_r: expected a non-empty list, got 8"]


def test_every_point_is_checked_before_training(chat_data: Path, tiny_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "g.yml"
    path.write_text(f"grid: {{lora_r: [8, oops]}}\nfixed: {{base_model: {tiny_model}}}\n")
    with pytest.raises(ConfigError) as err:
        run_sweep(Path("recipes/tiny-test.yml"), chat_data, path, tmp_path / "sweep")
    assert len(err.value.problems) == 1
    assert err.value.problems[0].startswith("[lora_r-oops] recipes/tiny-test.yml (after --set): lora_r:")
    assert not (tmp_path / "sweep").exists()
    # the good point alone resolves to its own folder
    cfg, run_dir, _ = resolve(RunRequest(Path("recipes/tiny-test.yml"), chat_data, tmp_path / "sweep" / "lora_r-8",
                                         [f"base_model={tiny_model}", "lora_r=8"]))
    assert cfg["output_dir"] == str(run_dir)


def test_finished_points_are_skipped_and_summarised(chat_data: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    for i, name in enumerate(["lora_r-8", "lora_r-16", "lora_r-32"]):
        (out / name).mkdir(parents=True)
        (out / name / "run_card.json").write_text(
            f'{{"final_train_loss": 0.{i + 1}, "final_eval_loss": 0.{i + 2}, "wall_time_s": 60}}')
    mark_output_folder(out)  # as an earlier sweep into this folder left it
    summary = run_sweep(Path("recipes/tiny-test.yml"), chat_data, Path("recipes/sweep.yml"), out)
    lines = summary.read_text().splitlines()
    assert lines[0] == "point,run_dir,final_train_loss,final_eval_loss,train_tokens_per_s,wall_time_s"
    assert lines[1] == "lora_r-8,,0.1,0.2,,60"
    assert capsys.readouterr().out.count("done already, skipped") == 3
