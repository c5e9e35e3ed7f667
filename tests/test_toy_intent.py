"""A new intent end to end, in a copy of the configuration: the taxonomy gains `trivia_quiz`, the grammar a
template file for it, a recipe its weight; then data -> a 5-step train of the tiny model -> eval -> search.
Nothing else changes: every other stage reads the labels from the taxonomy the dataset's manifest names."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from schemas import load_taxonomy
from search.config import load_search_config
from search.engine import SearchEngine
from search.query import search

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "AXOLOTL_DO_NOT_TRACK": "1", "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false"}
TRIVIA = {"description": "A quiz question about a named title, to test the user's knowledge.",
          "examples": ["quiz me on The Godfather", "give me a trivia question about Alien"],
          "rules": {"requires_any": ["title"]}, "searchable": False}
TEMPLATES = """intent: trivia_quiz
templates:
  - {id: trivia-001, text: "quiz me on {title}"}
  - {id: trivia-002, text: "give me a trivia question about {title}"}
  - {id: trivia-003, text: "[test|check] my knowledge of {title}"}
  - {id: trivia-004, text: "ask me something hard about {title}"}
  - {id: trivia-005, text: "let's play a {title} quiz"}
  - {id: trivia-006, text: "[a|one] trivia question on {title} please"}
"""


def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **OFFLINE))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


def configuration(tmp: Path) -> Path:
    """The copy: taxonomy + template file + recipe weight, the three files a new intent needs."""
    tax = yaml.safe_load((ROOT / "schemas/taxonomy.yaml").read_text())
    tax["intents"]["trivia_quiz"] = TRIVIA
    (tmp / "lexicons").symlink_to(ROOT / "schemas/lexicons")
    (tmp / "negation.yaml").symlink_to(ROOT / "schemas/negation.yaml")
    (tmp / "taxonomy.yaml").write_text(yaml.safe_dump(tax, sort_keys=False))
    shutil.copytree(ROOT / "synth/grammar", tmp / "grammar")
    (tmp / "grammar/trivia_quiz.yml").write_text(TEMPLATES)
    recipe = yaml.safe_load((ROOT / "recipes/data/default.yml").read_text())
    recipe["intents"]["trivia_quiz"] = 0.2
    recipe.update(taxonomy=str(tmp / "taxonomy.yaml"), out=str(tmp / "data"), n=300)
    recipe["grammar"]["templates"] = str(tmp / "grammar")
    (tmp / "recipe.yml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    return tmp / "recipe.yml"


@pytest.mark.slow  # a 5-step train and a decode: ~1-3 min on 2 cores
def test_a_new_intent_flows_from_taxonomy_to_search(tmp_path: Path) -> None:
    from helpers.tiny import make_tiny

    run("-m", "synth", "--config", str(configuration(tmp_path)), "--quiet")
    data = tmp_path / "data"
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["counts"]["by_intent"]["trivia_quiz"] > 0
    assert '\\"intent\\":\\"trivia_quiz\\"' in (data / "chat/train.jsonl").read_text()

    model = make_tiny(data, tmp_path / "tiny-llama")
    run("-m", "train", "--recipe", "recipes/tiny-test.yml", "--data", str(data), "--run", str(tmp_path / "run"),
        "--set", f"base_model={model}", "--set", "max_steps=5", "--set", "warmup_steps=1")
    eval_cfg = tmp_path / "eval.yml"
    eval_cfg.write_text((ROOT / "eval/config.yml").read_text().replace("dpi: 100", "dpi: 30"))
    run("-m", "eval", "--run", str(tmp_path / "run"), "--data", str(data), "--systems", "finetuned,baseline",
        "--splits", "test", "--limit", "12", "--config", str(eval_cfg))
    metrics = json.loads((tmp_path / "run/eval/baseline/test/metrics.json").read_text())
    assert metrics["taxonomy"] == str(tmp_path / "taxonomy.yaml")
    assert (tmp_path / "run/eval/finetuned/test/metrics.json").is_file()

    # Marked `searchable: false`: search answers with no ranking and no titles, from the shipped settings.
    tax = load_taxonomy(tmp_path / "taxonomy.yaml")
    engine = SearchEngine(load_search_config(ROOT / "search/config.yml", tax), tax)
    got = search({"intent": "trivia_quiz", "entities": [{"type": "title", "value": "Alien"}]}, engine=engine)
    assert got["route"] is None and got["results"] == []


def test_a_new_searchable_intent_is_answered_by_its_route(tmp_path: Path) -> None:
    tax_path = tmp_path / "taxonomy.yaml"
    raw = yaml.safe_load((ROOT / "schemas/taxonomy.yaml").read_text())
    raw["intents"]["trivia_quiz"] = {**TRIVIA, "searchable": True}
    (tmp_path / "lexicons").symlink_to(ROOT / "schemas/lexicons")
    (tmp_path / "negation.yaml").symlink_to(ROOT / "schemas/negation.yaml")
    tax_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    config = tmp_path / "search.yml"
    config.write_text((ROOT / "search/config.yml").read_text().replace(
        "named_title: [title_info, play, where_to_watch]", "named_title: [title_info, play, where_to_watch, trivia_quiz]"))
    tax = load_taxonomy(tax_path)
    engine = SearchEngine(load_search_config(config, tax), tax)
    got = search({"intent": "trivia_quiz", "entities": [{"type": "title", "value": "Alien"}]}, engine=engine)
    assert got["route"] == "named_title" and got["results"][0]["title"] == "Alien"
