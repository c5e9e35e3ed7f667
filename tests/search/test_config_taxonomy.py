"""search/config.yml and eval/retrieval.yml against the taxonomy: every intent routed and measured unless the
taxonomy marks it `searchable: false`, every entity type's pool placed; each gap refused in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eval.retrieval import load_retrieval_config
from schemas import ConfigError, load_taxonomy
from search.config import load_search_config

ROOT = Path(__file__).resolve().parents[2]


def taxonomy(tmp_path: Path, intent: dict | None = None, entity: dict | None = None) -> Path:
    """schemas/taxonomy.yaml plus one intent `trivia_quiz` and/or one entity type `award`."""
    raw = yaml.safe_load((ROOT / "schemas/taxonomy.yaml").read_text())
    if intent is not None:
        raw["intents"]["trivia_quiz"] = intent
    if entity is not None:
        raw["entity_types"]["award"] = entity
    (tmp_path / "lexicons").symlink_to(ROOT / "schemas/lexicons")
    (tmp_path / "negation.yaml").symlink_to(ROOT / "schemas/negation.yaml")
    (tmp_path / "taxonomy.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return tmp_path / "taxonomy.yaml"


def problems(load, *args) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(*args)
    return info.value.problems


def test_an_intent_without_a_route_is_refused_naming_intent_and_file(tmp_path: Path) -> None:
    tax = load_taxonomy(taxonomy(tmp_path, intent={"description": "A quiz question about a title."}))
    assert problems(load_search_config, ROOT / "search/config.yml", tax) == [
        f"{ROOT / 'search/config.yml'}: routes: intent 'trivia_quiz' ({tax.path}) has no route; list it under "
        f"one of constraints, similar, named_title, or mark it `searchable: false` in {tax.path}"]


def test_an_intent_marked_not_searchable_needs_no_route_and_no_measure(tmp_path: Path) -> None:
    tax = load_taxonomy(taxonomy(tmp_path, intent={"description": "Chit-chat.", "searchable": False}))
    assert tax.unsearchable == ("out_of_scope", "trivia_quiz")
    assert "trivia_quiz" not in load_search_config(ROOT / "search/config.yml", tax).routes.get("named_title", [])
    assert load_retrieval_config(ROOT / "eval/retrieval.yml", tax)["enabled"]


def test_an_intent_marked_not_searchable_but_routed_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "search/config.yml").read_text().replace("similar: [similar_to]", "similar: [similar_to, out_of_scope]")
    (tmp_path / "search.yml").write_text(text)
    assert problems(load_search_config, tmp_path / "search.yml") == [
        f"{tmp_path / 'search.yml'}: routes.similar: intent 'out_of_scope' is marked `searchable: false` in "
        f"{load_taxonomy().path}; remove it from one of the two"]


def test_an_entity_type_whose_pool_search_does_not_place_is_refused(tmp_path: Path) -> None:
    tax = load_taxonomy(taxonomy(tmp_path, entity={"description": "A prize a title won."}))
    assert problems(load_search_config, ROOT / "search/config.yml", tax) == [
        f"{ROOT / 'search/config.yml'}: constraints: entity type 'award' ({tax.path}) has pool 'award', which "
        "is in none of hard, soft, unused; add it to one"]


def test_an_intent_without_a_measure_is_refused_by_the_retrieval_config(tmp_path: Path) -> None:
    tax_path = taxonomy(tmp_path, intent={"description": "A quiz question about a title."})
    search = (ROOT / "search/config.yml").read_text().replace(
        "named_title: [title_info, play, where_to_watch]", "named_title: [title_info, play, where_to_watch, trivia_quiz]")
    (tmp_path / "search.yml").write_text(search)
    retrieval = (ROOT / "eval/retrieval.yml").read_text().replace("search_config: search/config.yml",
                                                                 f"search_config: {tmp_path / 'search.yml'}")
    (tmp_path / "retrieval.yml").write_text(retrieval)
    tax = load_taxonomy(tax_path)
    where = tmp_path / "retrieval.yml"
    assert problems(load_retrieval_config, where, tax) == [
        f"{where}: measures: intent 'trivia_quiz' ({tax.path}) is in none of seed_title, constraints, similar; "
        f"list it under the one that judges its titles, or mark it `searchable: false` in {tax.path}",
        f"{where}: measures.exclusions: intent 'trivia_quiz' ({tax.path}) is missing; list every searchable intent "
        "there"]


def test_the_search_command_refuses_a_config_missing_an_intent_with_exit_2(tmp_path: Path) -> None:
    text = (ROOT / "search/config.yml").read_text().replace("similar: [similar_to]", "similar: []")
    (tmp_path / "search.yml").write_text(text)
    proc = subprocess.run([sys.executable, "-m", "search", "--config", str(tmp_path / "search.yml"), "--raw", "x"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'search.yml'}: routes: intent 'similar_to' ({load_taxonomy().path}) has no route; "
        f"list it under one of constraints, similar, named_title, or mark it `searchable: false` in "
        f"{load_taxonomy().path}"]
