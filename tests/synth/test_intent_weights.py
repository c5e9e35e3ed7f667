"""synth/intent_weights.py: a recipe weighs every taxonomy intent, and every weighted intent has templates."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from synth.config import load_data_config

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "recipes/data/default.yml"


def check(recipe: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "recipe.yml"
    path.write_text(yaml.safe_dump(recipe))
    return subprocess.run([sys.executable, "-m", "synth", "--config", str(path), "--check"],
                          capture_output=True, text=True, cwd=ROOT)


def test_an_intent_the_recipe_leaves_out_is_refused_in_one_line(tmp_path: Path) -> None:
    recipe = yaml.safe_load(DEFAULT.read_text())
    del recipe["intents"]["play"]
    proc = check(recipe, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'recipe.yml'}: intents: intent 'play' (schemas/taxonomy.yaml) has no weight; "
        "add `play: <weight>` under intents:, or `play: 0` to leave it out"]


def test_weight_zero_leaves_an_intent_out_and_no_section_weighs_all_evenly(tmp_path: Path) -> None:
    recipe = yaml.safe_load(DEFAULT.read_text())
    recipe["intents"]["play"] = 0
    (tmp_path / "zero.yml").write_text(yaml.safe_dump(recipe))
    assert "play" not in load_data_config(tmp_path / "zero.yml").intents
    del recipe["intents"]
    (tmp_path / "even.yml").write_text(yaml.safe_dump(recipe))
    shares = load_data_config(tmp_path / "even.yml").intents
    assert len(shares) == 7 and len(set(shares.values())) == 1


def test_a_weighted_intent_without_a_template_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    grammar = tmp_path / "grammar"
    shutil.copytree(ROOT / "synth/grammar", grammar)
    (grammar / "play.yml").unlink()
    recipe = yaml.safe_load(DEFAULT.read_text())
    recipe["grammar"]["templates"] = str(grammar)
    proc = check(recipe, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'recipe.yml'}: intents.play: no template file {grammar / 'play.yml'}; write it "
        "(`intent: play` and its templates, like the other files there), or give play weight 0"]
    recipe["intents"]["play"] = 0  # left out: no templates needed
    assert check(recipe, tmp_path).returncode == 0
