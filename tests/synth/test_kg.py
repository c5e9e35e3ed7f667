"""The shipped knowledge graph loads and is rich enough; bad files fail with file:line errors."""

import datetime
import json
import shutil
from pathlib import Path

import pytest

from schemas import ConfigError, load_taxonomy
from synth.kg import TITLE_POOLS, kg_summary, load_kg

ROOT = Path(__file__).resolve().parents[2]
KG = ROOT / "synth/kg"
TAX = load_taxonomy()
GOOD = {"title": "Dune", "year": 2021, "media_type": "movie", "genres": ["science fiction"],
        "directors": ["Denis Villeneuve"], "cast": [{"actor": "Zendaya", "character": "Chani"}],
        "settings": ["the desert planet Arrakis"], "themes": ["destiny", "power"], "moods": ["epic"],
        "plot": ["giant sandworms"], "language": "English", "source": "test"}


@pytest.fixture(scope="module")
def kg():
    return load_kg(KG)


def write(folder: Path, name: str, lines: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_kg(folder, TAX)
    return exc.value.problems


def test_shipped_films_are_many_diverse_and_real_looking(kg):
    films = [t for t in kg.titles if t.where.startswith(str(KG / "titles_films.jsonl"))]
    assert len(films) >= 230 and kg.files["titles_films.jsonl"] == len(films)
    assert all(t.media_type == "movie" for t in films)
    assert sum(t.language != "English" for t in films) >= 40
    assert {t.year // 10 * 10 for t in films} >= set(range(1930, 2030, 10))
    for t in films:
        assert t.directors and t.genres and t.moods and t.settings, t.where
        assert len(t.themes) >= 2 and 2 <= len(t.plot) <= 4, t.where
        assert all(c.character for c in t.cast), t.where


@pytest.mark.skipif(not (KG / "titles_series.jsonl").exists(), reason="titles_series.jsonl not written yet")
def test_films_and_series_together_hold_at_least_300_titles(kg):
    assert kg.files.get("titles_series.jsonl", 0) > 0
    assert len(kg.titles) >= 300


def test_every_pool_a_taxonomy_type_draws_from_is_filled(kg):
    sources = {et.source for et in TAX.entity_types.values()}
    vocab_only = sources - set(TITLE_POOLS)
    if not (KG / "vocab.yml").exists():
        sources -= vocab_only  # platform, audience: only vocab.yml supplies them
    assert sources, "taxonomy names no pools"
    empty = [p for p in sorted(sources) if not kg.pools.get(p)]
    assert not empty, f"empty pools: {empty}"


def test_no_duplicate_titles_and_every_year_plausible(kg):
    keys = [(t.title.casefold(), t.year) for t in kg.titles]
    assert len(keys) == len(set(keys))
    assert all(1888 <= t.year <= datetime.date.today().year + 1 for t in kg.titles)


def test_pools_sorted_deduplicated_and_people_indexed(kg):
    for name, values in kg.pools.items():
        folded = [v.casefold() for v in values]
        assert folded == sorted(folded) and len(set(folded)) == len(folded), name
    assert "The Godfather" in kg.pools["title"] and "1972" in kg.pools["year"]
    assert {"Marlon Brando", "Vito Corleone", "Francis Ford Coppola"} <= kg.people
    assert kg.title_by_name["Parasite"].cast[0]["actor"] == "Song Kang-ho"  # mapping-style access works
    assert kg.title_by_name["Parasite"].language == "Korean"


def test_pools_merge_vocab_case_insensitively_and_drop_unknown_language(tmp_path):
    write(tmp_path, "titles_a.jsonl", [GOOD, {**GOOD, "title": "Mystery Film", "language": "unknown",
                                              "genres": ["Science Fiction", "drama"]}])
    (tmp_path / "vocab.yml").write_text('genre: ["science fiction", "anime"]\nyear: ["the 90s"]\n'
                                        'media_type: ["movie", "series"]\n')
    kg = load_kg(tmp_path, TAX)
    assert kg.pools["genre"] == ["anime", "drama", "science fiction"]  # vocab spelling wins
    assert kg.pools["year"] == ["2021", "the 90s"]
    assert kg.pools["language"] == ["English"]
    assert kg.pools["platform"] == []
    assert kg.files == {"titles_a.jsonl": 2}


def test_bad_lines_are_all_reported_with_file_and_line(tmp_path):
    no_year = {k: v for k, v in GOOD.items() if k != "year"}
    write(tmp_path, "titles_bad.jsonl", [
        GOOD,
        no_year,
        '{"title": "Broken", "year": 1999,',
        {**GOOD, "title": "DUNE"},
        {**GOOD, "title": "Old", "year": 1700, "moods": "epic", "cast": [{"actor": " Zendaya"}]},
        {**GOOD, "title": 'Say "Hi"', "ganres": []},
    ])
    got = problems(tmp_path)
    f = tmp_path / "titles_bad.jsonl"
    assert f"{f}:2: missing key 'year'" in got
    assert any(p.startswith(f"{f}:3: invalid JSON") for p in got)
    assert f"{f}:4: duplicate title 'DUNE' (2021), first at {f}:1" in got
    assert any(p.startswith(f"{f}:5: year 1700 must be an integer") for p in got)
    assert f"{f}:5: moods must be a list of strings" in got
    assert any(p.startswith(f"{f}:5: cast[0].actor") and "whitespace" in p for p in got)
    assert any(p.startswith(f"{f}:6: title") and "double quote" in p for p in got)
    assert f"{f}:6: unknown key 'ganres' (did you mean 'genres'?)" in got
    assert len(got) == 8


def test_duplicates_across_files_and_unknown_media_type_and_vocab_pool(tmp_path):
    write(tmp_path, "titles_a.jsonl", [GOOD])
    write(tmp_path, "titles_b.jsonl", [GOOD, {**GOOD, "title": "Show", "media_type": "seris"}])
    (tmp_path / "vocab.yml").write_text('media_type: ["movie", "series"]\nmoood: ["dark"]\n')
    got = problems(tmp_path)
    assert f"{tmp_path / 'titles_b.jsonl'}:1: duplicate title 'Dune' (2021), first at " \
           f"{tmp_path / 'titles_a.jsonl'}:1" in got
    assert f"{tmp_path / 'titles_b.jsonl'}:2: media_type 'seris' is not in vocab.yml media_type " \
           "(did you mean 'series'?)" in got
    assert f"{tmp_path / 'vocab.yml'}: unknown key 'moood' (did you mean 'mood'?)" in got


def test_missing_or_empty_folder(tmp_path):
    assert problems(tmp_path / "nope") == [f"{tmp_path / 'nope'}: knowledge graph folder not found"]
    assert "no titles*.jsonl files" in problems(tmp_path)[0]


def test_series_file_is_optional(tmp_path):
    shutil.copy(KG / "titles_films.jsonl", tmp_path / "titles_films.jsonl")
    kg = load_kg(tmp_path, TAX)
    assert len(kg.titles) == kg.files["titles_films.jsonl"] >= 230


def test_summary_counts_pools_media_languages_and_decades(kg):
    s = kg_summary(kg)
    json.dumps(s)  # goes into manifest.json as is
    assert s["titles"] == len(kg.titles) == sum(s["files"].values())
    assert s["pools"]["title"] == len(kg.pools["title"])
    assert s["media_type"]["movie"] == kg.files["titles_films.jsonl"]
    assert s["language"]["Korean"] >= 5 and s["decade"]["1930s"] >= 5
    assert list(s["decade"]) == sorted(s["decade"])


@pytest.mark.parametrize("first, sequel", [
    ("Blade Runner", "Blade Runner 2049"), ("Dune", "Dune: Part Two"), ("The Godfather", "The Godfather Part II"),
    ("The Terminator", "Terminator 2: Judgment Day"), ("Mad Max", "Mad Max: Fury Road"),
    ("Kill Bill", "Kill Bill: Volume 1"), ("Paddington", "Paddington 2"),
])
def test_sequels_share_the_first_films_stem(first, sequel):
    from synth.kg import title_stem

    assert title_stem(first) == title_stem(sequel)


@pytest.mark.parametrize("a, b", [("Seven", "Seven Samurai"), ("Taxi", "Taxi Driver"), ("M", "Mad Max")])
def test_unrelated_titles_keep_their_own_stem(a, b):
    from synth.kg import title_stem

    assert title_stem(a) != title_stem(b)


def test_franchise_field_groups_what_the_stem_cannot(kg, tmp_path):
    from synth.kg import franchise_key

    by_title = {t.title: t for t in kg.titles}
    for a, b in (("Alien", "Aliens"), ("Star Wars", "The Empire Strikes Back"), ("Breaking Bad", "Better Call Saul")):
        assert franchise_key(by_title[a]) == franchise_key(by_title[b]), (a, b)
    assert problems_of(tmp_path, {**GOOD, "franchise": " Dune"}) == [
        f"{tmp_path / 'titles.jsonl'}:1: franchise ' Dune' has stray whitespace (or leave the key out)"]


def problems_of(folder: Path, line: dict) -> list[str]:
    write(folder, "titles.jsonl", [line])
    return problems(folder)


def test_a_theme_joining_two_ideas_is_refused_with_its_place(tmp_path):
    # "themes of loyalty and survival" is labelled as two themes, so a KG theme "love and duty" would
    # teach the opposite label for the same words in another record.
    got = problems_of(tmp_path, {**GOOD, "themes": ["destiny", "love and duty", "good & evil"]})
    f = tmp_path / "titles.jsonl"
    assert got == [f"{f}:1: themes[1] 'love and duty' joins two ideas; list each theme on its own "
                   "(taxonomy: one idea per theme)",
                   f"{f}:1: themes[2] 'good & evil' joins two ideas; list each theme on its own "
                   "(taxonomy: one idea per theme)"]
    # words that merely contain "and" are one idea
    load_kg(write(tmp_path / "ok", "titles.jsonl", [{**GOOD, "themes": ["abandonment", "candor"]}]).parent, TAX)


def test_a_vocab_theme_joining_two_ideas_is_refused_too(tmp_path):
    write(tmp_path, "titles.jsonl", [GOOD])
    (tmp_path / "vocab.yml").write_text('theme: ["grief", "sin and redemption"]\nplot: ["a cat and a dog"]\n')
    # a plot may join two things; a theme may not
    assert problems(tmp_path) == [f"{tmp_path / 'vocab.yml'}: theme[1] 'sin and redemption' joins two ideas; "
                                  "list each theme on its own (taxonomy: one idea per theme)"]


def test_shipped_themes_hold_one_idea_each(kg):
    assert not [t.title for t in kg.titles for v in t.themes if " and " in v]
    assert not [v for v in kg.pools["theme"] if " and " in v]  # vocab.yml's theme pool included
