"""The six-title knowledge graph of tests/fixtures/tiny_kg for the search tests: a remake pair sharing a
name (Solaris 1972/2002), a film and its sequel (Alien/Aliens), an accented title (Amélie), a series
(Dark). title_id is the line order of titles.jsonl."""

from __future__ import annotations

from pathlib import Path

from search.config import load_search_config
from search.engine import SearchEngine
from synth.kg import load_kg

TINY_KG = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_kg"
ALIEN, ALIENS, AMELIE, SOLARIS_1972, SOLARIS_2002, DARK = range(6)


def engine() -> SearchEngine:
    """The real config and taxonomy over the tiny KG; `this_year` pinned so relative years are fixed."""
    return SearchEngine(load_search_config(), kg=load_kg(TINY_KG), this_year=2026)
