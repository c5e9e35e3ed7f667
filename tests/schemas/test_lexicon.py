"""Lexicons of closed types: what they accept, the canonical values they give, and that every value the
synthetic data can draw for a closed type is one its lexicon accepts (else decoding could never emit it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from schemas import ConfigError, load_taxonomy
from schemas.lexicon import load_lexicon
from synth.frames import year_forms
from synth.kg import load_kg

ROOT = Path(__file__).resolve().parents[2]
TAX = load_taxonomy()


@pytest.mark.parametrize("etype, span, canonical", [
    ("media_type", "TV Show", "series"), ("media_type", "flick", "movie"), ("media_type", "showtimes", None),
    ("media_type", "action", None), ("genre", "dark british comedy", "comedy"),
    ("genre", "romantic comedy", "romance"), ("genre", "steven soderbergh", None),
    ("year", "the late 80s", "the late 80s"), ("year", "nineteen eighty-seven", "nineteen eighty-seven"),
    ("year", "1980 martin scorsese film", None), ("platform", "disney plus", "Disney+"),
    ("platform", "theatre", None), ("platform", "AMC Theaters", None), ("audience", "my 10 year old", "kids"),
    ("language", "Farsi", "Persian"), ("audience", "Tom Cruise", None),
    # one typo in one word of five letters or more is forgiven; shorter words and other words are not
    ("media_type", "mofie", "movie"), ("media_type", "mvoie", "movie"), ("genre", "romantic commedy", "romance"),
    ("platform", "netflx", "Netflix"), ("genre", "crme", None), ("media_type", "mofiee", None),
    ("genre", "dark british comdy", "comedy"),
])
def test_spans_and_their_canonical_values(etype: str, span: str, canonical: str | None) -> None:
    assert TAX.closed_types[etype].canonical(span) == canonical


def test_every_value_the_data_can_draw_for_a_closed_type_is_accepted() -> None:
    kg = load_kg(ROOT / "synth/kg")
    pools = yaml.safe_load((ROOT / "synth/pools.yml").read_text())
    checked = 0
    for etype, lexicon in TAX.closed_types.items():
        values = set(kg.pools.get(TAX.entity_types[etype].source, []))
        if etype == "year":
            values |= {y for t in kg.titles for y in year_forms(t.year)}
        if etype == "genre":
            values |= {f"{q} {h}" for q in pools["genre_qualifiers"] for h in pools["genre_heads"]}
        refused = sorted(v for v in values if not lexicon.accepts(v))
        assert not refused, f"{lexicon.path} refuses values the data draws: {refused[:10]}"
        checked += len(values)
    assert checked > 1000


def test_a_bad_lexicon_is_refused_with_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("values: {movie: film}\npatterns: ['(']\nmax_qualifier_words: -1\ncolour: red\n")
    with pytest.raises(ConfigError) as err:
        load_lexicon(path, "media_type")
    text = "\n".join(err.value.problems)
    assert len(err.value.problems) == 5
    for part in ("unknown key 'colour'", "values.movie: must be a non-empty list", "patterns[0]: not a regex",
                 "max_qualifier_words: must be an integer >= 0", "accepts nothing"):
        assert part in text


def test_a_taxonomy_example_its_lexicon_refuses_is_an_error(tmp_path: Path) -> None:
    tax = yaml.safe_load((ROOT / "schemas/taxonomy.yaml").read_text())
    tax["entity_types"]["media_type"]["examples"].append("cinema")
    for et in tax["entity_types"].values():
        if "lexicon" in et:
            et["lexicon"] = str(ROOT / "schemas" / et["lexicon"])
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(tax))
    with pytest.raises(ConfigError, match="examples: 'cinema' is not accepted by its lexicon"):
        load_taxonomy(path)
