"""`python -m search` as a user runs it (real subprocess, real KG), and its one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import ConfigError
from search.config import load_search_config

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "search", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


def test_extraction_prints_ranked_titles_with_reasons() -> None:
    ext = {"intent": "find_title", "entities": [{"type": "character", "value": "martin castilo"},
                                                {"type": "media_type", "value": "tv show"}]}
    proc = cli("--extraction", json.dumps(ext), "which show has martin castilo in it")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "query: which show has martin castilo in it"
    assert lines[2] == "ranking: constraints"
    assert lines[3].startswith("   1. Miami Vice (1984, series)")
    assert "character=martin castilo ~ Martin Castillo (typo)" in lines[3]


def test_json_and_raw() -> None:
    proc = cli("--raw", "--json", "a shark terrorizes a beach town")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["route"] == "raw_query" and got["results"][0]["title"] == "Jaws"


def test_export_lets_sql_files_rerun_by_hand(tmp_path: Path) -> None:
    import duckdb

    ext = {"intent": "similar_to", "entities": [{"type": "title", "value": "Alien"}]}
    proc = cli("--extraction", json.dumps(ext), "--json", "--export", str(tmp_path / "db"))
    assert proc.returncode == 0, proc.stderr
    first = json.loads(proc.stdout)["results"][0]["title"]
    con = duckdb.connect()
    con.execute(f"import database '{tmp_path / 'db'}'")
    rows = con.execute((ROOT / "sql/search/rank_similar.sql").read_text(encoding="utf-8")).fetchall()
    assert rows[0][3] == first


@pytest.mark.parametrize("args, message", [
    (["--extraction", "{bad"], "error: --extraction: invalid JSON"),
    (["--extraction", '{"intent": "play", "entities": [{"type": "title"}]}'], "error: --extraction: expected"),
    (["--run", "/nonexistent/run", "play Alien"], "error: /nonexistent/run/run_card.json: file not found"),
    (["--raw"], "error: give a query"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith(message) and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_config_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = (ROOT / "search/config.yml").read_text(encoding="utf-8")
    bad = text.replace("top_k: 10", "top_kk: 10").replace("chars_per_edit: 5", "chars_per_edit: 0")
    path = tmp_path / "config.yml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_search_config(path)
    problems = info.value.problems
    assert any("unknown key 'top_kk' (did you mean 'top_k'?)" in p for p in problems)
    assert any("ranking.chars_per_edit: must be >= 1" in p for p in problems)
    assert all(p.startswith(str(path)) for p in problems)


def test_partial_matches_and_exclusions_are_printed() -> None:
    ext = {"intent": "recommend", "entities": [
        {"type": "mood", "value": "tense"}, {"type": "genre", "value": "sci-fi"},
        {"type": "media_type", "value": "movie"}, {"type": "year", "value": "the 80s"},
        {"type": "actor", "value": "Sigourney Weaver"}, {"type": "genre", "value": "comedy", "exclude": True}]}
    proc = cli("--extraction", json.dumps(ext))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == ("extraction: recommend [mood=tense, genre=sci-fi, media_type=movie, year=the 80s, "
                        "actor=Sigourney Weaver, genre!=comedy]")
    # Ghostbusters is a comedy: ruled out; Aliens misses only the mood
    assert lines[2].startswith("   1. Aliens (1986, movie)") and lines[2].endswith("unmet: mood=tense")
    assert "Ghostbusters" not in proc.stdout and lines[-1] == "  ruled out: genre=comedy"


def test_relaxation_order_must_list_every_pool_once(tmp_path: Path) -> None:
    text = (ROOT / "search/config.yml").read_text(encoding="utf-8")
    bad = text.replace("relax: [mood, theme, setting, plot,", "relax: [mood, mood, setting, plto,")
    path = tmp_path / "config.yml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_search_config(path)
    text = "\n".join(info.value.problems)
    for part in ("constraints.relax: 'mood' is listed 2 times", "'plto' is not a hard or soft pool (did you mean "
                 "'plot'?)", "missing pool 'theme'", "missing pool 'plot'"):
        assert part in text, part
    assert len(info.value.problems) == 4


def test_an_intent_routed_twice_is_an_error(tmp_path: Path) -> None:
    text = (ROOT / "search/config.yml").read_text(encoding="utf-8")
    path = tmp_path / "config.yml"
    path.write_text(text.replace("similar: [similar_to]", "similar: [similar_to, title_info]"), encoding="utf-8")
    with pytest.raises(ConfigError, match="routes: intent 'title_info' is listed under 2 routes; keep it under one"):
        load_search_config(path)
