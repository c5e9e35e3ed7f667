"""train.check: every shipped recipe validates; typos and bad types are one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from train.check import check_files, check_recipe, main

FILES = sorted((Path(__file__).resolve().parents[2] / "recipes").glob("*.yml"))
RECIPES = [p for p in FILES if p.name != "sweep.yml"]


def _variant(tmp_path: Path, name: str, **changes) -> Path:
    """A copy of the CPU recipe with some top-level keys changed (None removes a key)."""
    cfg = yaml.safe_load(Path("recipes/cpu-smollm2-135m-lora.yml").read_text())
    for key, value in changes.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_every_recipe_validates(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(RECIPES) >= 7, RECIPES
    assert main([str(p) for p in FILES]) == 0  # what `make check` runs: recipes/*.yml
    assert capsys.readouterr().out.strip() == f"OK {len(RECIPES)} recipes checked, 1 sweep grid"


def test_sweep_grid_typo_is_caught(tmp_path: Path) -> None:
    grid = tmp_path / "sweep.yml"
    grid.write_text("grid:\n  lora_rr: [8, 16]\nfixed: {max_step: 5}\n")
    assert check_files([grid]) == ([
        f"{grid}: grid: unknown key 'lora_rr' (did you mean 'lora_r'?)",
        f"{grid}: fixed: unknown key 'max_step' (did you mean 'max_steps'?)"], 0, 1)


def test_misspelled_key_is_one_line_with_did_you_mean(tmp_path: Path) -> None:
    path = _variant(tmp_path, "typo.yml", lora_r=None, lora_rr=16)
    problems = check_recipe(path)
    assert problems == [f"{path}: unknown key 'lora_rr' (did you mean 'lora_r'?)"]


def test_misspelled_dataset_key_names_the_entry(tmp_path: Path) -> None:
    cfg = yaml.safe_load(Path("recipes/cpu-smollm2-135m-lora.yml").read_text())
    cfg["datasets"][0]["roles_to_trian"] = cfg["datasets"][0].pop("roles_to_train")
    path = tmp_path / "nested.yml"
    path.write_text(yaml.safe_dump(cfg))
    assert check_recipe(path) == [
        f"{path}: datasets[0]: unknown key 'roles_to_trian' (did you mean 'roles_to_train'?)"]


def test_wrong_type_fails_naming_key_and_value(tmp_path: Path) -> None:
    path = _variant(tmp_path, "type.yml", lora_r="sixteen")
    problems = check_recipe(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: lora_r: ")
    assert "integer" in problems[0] and "'sixteen'" in problems[0]


def test_all_problems_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _variant(tmp_path, "many.yml", lora_rr=8, sample_packing="maybe", learning_rate="fast")
    good = Path("recipes/tiny-test.yml")
    assert main([str(good), str(bad)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{bad}: ") for line in lines)
    assert {"lora_rr", "sample_packing", "learning_rate"} == {
        k for k in ("lora_rr", "sample_packing", "learning_rate") if any(k in line for line in lines)}


def test_missing_deepspeed_file_is_reported(tmp_path: Path) -> None:
    path = _variant(tmp_path, "ds.yml", deepspeed="recipes/deepspeed/nope.json")
    assert any("deepspeed: file 'recipes/deepspeed/nope.json' not found" in p for p in check_recipe(path))


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("lora_r: [16\n")
    assert check_recipe(broken)[0].startswith(f"{broken}:") and "invalid YAML" in check_recipe(broken)[0]
    assert check_recipe(tmp_path / "absent.yml") == [f"{tmp_path / 'absent.yml'}: file not found"]
