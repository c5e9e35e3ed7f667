"""A six-title knowledge graph for the search tests: a remake pair sharing a name (Solaris 1972/2002),
a film and its sequel (Alien/Aliens), an accented title (Amélie) and a series (Dark)."""

from __future__ import annotations

import json
from pathlib import Path

from search.config import load_search_config
from search.engine import SearchEngine
from synth.kg import load_kg


def title(name: str, year: int, media: str, genres: list[str], director: str, cast: list[tuple[str, str]],
          settings: list[str], themes: list[str], moods: list[str], plot: list[str], language: str) -> dict:
    return {"title": name, "year": year, "media_type": media, "genres": genres, "directors": [director],
            "cast": [{"actor": a, "character": c} for a, c in cast], "settings": settings, "themes": themes,
            "moods": moods, "plot": plot, "language": language, "source": "test fixture"}


TITLES = [
    title("Alien", 1979, "movie", ["horror", "science fiction"], "Ridley Scott",
          [("Sigourney Weaver", "Ellen Ripley"), ("Tom Skerritt", "Dallas")], ["a space freighter"],
          ["survival"], ["tense"], ["a deadly alien stalking the crew"], "English"),
    title("Aliens", 1986, "movie", ["action", "science fiction"], "James Cameron",
          [("Sigourney Weaver", "Ellen Ripley")], ["a space colony"], ["motherhood"], ["intense"],
          ["colonial marines fighting aliens"], "English"),
    title("Amélie", 2001, "movie", ["romance", "comedy"], "Jean-Pierre Jeunet",
          [("Audrey Tautou", "Amélie Poulain")], ["Montmartre, Paris"], ["loneliness"], ["whimsical"],
          ["a shy waitress helping strangers"], "French"),
    title("Solaris", 1972, "movie", ["science fiction", "drama"], "Andrei Tarkovsky",
          [("Donatas Banionis", "Kris Kelvin")], ["a space station"], ["grief", "memory"], ["cerebral"],
          ["a sentient ocean"], "Russian"),
    title("Solaris", 2002, "movie", ["science fiction", "romance"], "Steven Soderbergh",
          [("George Clooney", "Chris Kelvin")], ["a space station"], ["grief"], ["melancholy"],
          ["a sentient ocean"], "English"),
    title("Dark", 2017, "series", ["science fiction", "mystery"], "Baran bo Odar",
          [("Louis Hofmann", "Jonas Kahnwald")], ["a German small town"], ["fate"], ["brooding"],
          ["a missing boy", "time travel"], "German"),
]
ALIEN, ALIENS, AMELIE, SOLARIS_1972, SOLARIS_2002, DARK = range(6)


def write_kg(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "titles.jsonl").open("w", encoding="utf-8") as f:
        for t in TITLES:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    return folder


def engine(folder: Path) -> SearchEngine:
    """The real config and taxonomy over the tiny KG; `this_year` pinned so relative years are fixed."""
    cfg = load_search_config()
    return SearchEngine(cfg, kg=load_kg(write_kg(folder)), this_year=2026)
