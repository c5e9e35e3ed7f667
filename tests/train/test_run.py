"""The launcher's fast part: run folders, data pointing, the resolved config, the axolotl command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from schemas.config import ConfigError
from train.run import (
    RunRequest,
    axolotl_command,
    axolotl_env,
    choose_run_dir,
    input_problems,
    point_at_data,
    resolve,
    write_resolved,
)


def test_run_dir_default_and_suffix(tmp_path: Path) -> None:
    recipe = Path("recipes/cpu-smollm2-135m-lora.yml")
    assert choose_run_dir(recipe, None, tmp_path) == tmp_path / "cpu-smollm2-135m-lora"
    (tmp_path / "cpu-smollm2-135m-lora").mkdir()
    # An unfinished folder (no run card) is reused ...
    assert choose_run_dir(recipe, None, tmp_path) == tmp_path / "cpu-smollm2-135m-lora"
    # ... a finished one never is.
    (tmp_path / "cpu-smollm2-135m-lora" / "run_card.json").write_text("{}")
    assert choose_run_dir(recipe, None, tmp_path) == tmp_path / "cpu-smollm2-135m-lora-2"
    (tmp_path / "cpu-smollm2-135m-lora-2").mkdir()
    (tmp_path / "cpu-smollm2-135m-lora-2" / "run_card.json").write_text("{}")
    assert choose_run_dir(recipe, None, tmp_path) == tmp_path / "cpu-smollm2-135m-lora-3"
    assert choose_run_dir(recipe, tmp_path / "mine", tmp_path) == tmp_path / "mine"
    with pytest.raises(ConfigError, match="already holds a finished run"):
        choose_run_dir(recipe, tmp_path / "cpu-smollm2-135m-lora", tmp_path)


def test_point_at_data_rewrites_every_dataset_and_output(tmp_path: Path) -> None:
    cfg = {"datasets": [{"path": "data/default/chat/train.jsonl"}],
           "test_datasets": [{"path": "data/default/chat/validation.jsonl"}], "output_dir": "runs/x"}
    out = point_at_data(cfg, Path("data/small"), tmp_path / "run")
    assert out["datasets"][0]["path"] == "data/small/chat/train.jsonl"
    assert out["test_datasets"][0]["path"] == "data/small/chat/validation.jsonl"
    assert out["output_dir"] == str(tmp_path / "run")
    assert out["dataset_prepared_path"] == str(tmp_path / "run" / "prepared")


def test_missing_inputs_name_the_make_target(tmp_path: Path) -> None:
    cfg = {"datasets": [{"path": str(tmp_path / "chat/train.jsonl")}], "base_model": "models/absent"}
    problems = input_problems(cfg, tmp_path)
    assert any("datasets[0].path" in p and "make data" in p for p in problems)
    assert any("base_model: models/absent not found; run `make model`" in p for p in problems)


def test_resolve_applies_sets_and_writes_the_plain_file(chat_data: Path, tiny_model: Path,
                                                        tmp_path: Path) -> None:
    req = RunRequest(recipe=Path("recipes/tiny-test.yml"), data=chat_data, run=tmp_path / "r",
                     sets=[f"base_model={tiny_model}", "lora_r=8"], max_steps=3)
    cfg, run_dir, cpu_bf16 = resolve(req)
    assert (cfg["lora_r"], cfg["max_steps"], run_dir, cpu_bf16) == (8, 3, tmp_path / "r", False)
    path = write_resolved(cfg, run_dir, req)
    text = path.read_text()
    assert text.startswith("# Resolved by python -m train from recipes/tiny-test.yml")
    assert yaml.safe_load(text) == cfg
    cmd = axolotl_command(path, cfg, cpu_bf16)
    assert cmd[1:] == ["-m", "train.axolotl_cli", "train", str(path), "--launcher", "python"]


def test_resolve_reports_bad_override_with_recipe_name(chat_data: Path, tiny_model: Path) -> None:
    req = RunRequest(recipe=Path("recipes/tiny-test.yml"), data=chat_data,
                     sets=[f"base_model={tiny_model}", "lora_rr=8"])
    with pytest.raises(ConfigError) as err:
        resolve(req)
    assert err.value.problems == [
        "recipes/tiny-test.yml (after --set): unknown key 'lora_rr' (did you mean 'lora_r'?)"]


def test_sharded_recipes_use_accelerate_and_env_is_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    cmd = axolotl_command(Path("r.yml"), {"fsdp_config": {"offload_params": False}}, cpu_bf16=True)
    assert cmd[-2:] == ["--launcher", "accelerate"] and "--allow-cpu-bf16" not in cmd
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    env = axolotl_env()
    assert env["HF_HUB_OFFLINE"] == "0"  # a user's explicit choice wins (downloading a GPU model)
    assert env["TRANSFORMERS_OFFLINE"] == "1" and env["AXOLOTL_DO_NOT_TRACK"] == "1"


def test_fixture_matches_the_data_contract(chat_data: Path) -> None:
    manifest = json.loads((chat_data / "manifest.json").read_text())
    assert set(manifest["sha256"]) == {"chat/train.jsonl", "chat/validation.jsonl"}
    for line in (chat_data / "chat" / "train.jsonl").read_text().splitlines()[:200]:
        system, user, assistant = json.loads(line)["messages"]
        assert [system["role"], user["role"], assistant["role"]] == ["system", "user", "assistant"]
        assert system["content"] == manifest["system_prompt"]
        target = json.loads(assistant["content"])
        assert all(e["value"] in user["content"] for e in target["entities"])
