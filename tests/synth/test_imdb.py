"""IMDb importer: real-format TSV fixtures (tabs, header, \\N, JSON characters) -> KG lines load_kg reads."""

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synth.imdb import character_of, clean, genre_of, main
from synth.kg import load_kg

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests/fixtures/imdb"


def args(out: Path, *extra: str, basics: Path = FIX / "title.basics.tsv") -> list[str]:
    return ["--basics", str(basics), "--principals", str(FIX / "title.principals.tsv"),
            "--names", str(FIX / "name.basics.tsv"), "--out", str(out), "--no-progress", *extra]


def read(path: Path) -> dict[str, dict]:
    return {d["title"]: d for d in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def test_cli_imports_movies_and_series_that_load_kg_reads(tmp_path):
    out = tmp_path / "kg" / "titles_imdb.jsonl"
    run = subprocess.run([sys.executable, "-m", "synth.imdb", *args(out)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "wrote 6 titles" in run.stdout and "skipped: adult: 1" in run.stdout
    titles = read(out)
    # short, tvEpisode, adult and year-less rows are gone
    assert sorted(titles) == ["Alien", "Breaking Bad", "Chernobyl", "Parasite", "The Godfather",
                              "The Maltese Falcon"]
    godfather = titles["The Godfather"]
    assert godfather["year"] == 1972 and godfather["media_type"] == "movie"
    assert godfather["directors"] == ["Francis Ford Coppola"]  # writer and producer rows ignored
    # principal order kept, capped at 4, so Robert Duvall (ordering 8) is out
    assert godfather["cast"] == [{"actor": "Marlon Brando", "character": "Don Vito Corleone"},
                                 {"actor": "Al Pacino", "character": "Michael Corleone"},
                                 {"actor": "James Caan", "character": "Sonny Corleone"},
                                 {"actor": "Diane Keaton", "character": "Kay Adams"}]
    assert godfather["settings"] == godfather["themes"] == godfather["moods"] == godfather["plot"] == []
    assert godfather["language"] == "unknown"
    assert titles["Alien"]["genres"] == ["horror", "science fiction"]
    assert titles["The Maltese Falcon"]["genres"] == ["crime", "film noir", "mystery"]
    assert titles["Breaking Bad"]["media_type"] == titles["Chernobyl"]["media_type"] == "series"
    assert titles["Breaking Bad"]["directors"] == []  # creators are writers in IMDb, not principals here
    assert titles["Chernobyl"]["cast"][1] == {"actor": "Stellan Skarsgård", "character": "Boris Shcherbina"}

    kg = load_kg(out.parent)
    assert len(kg.titles) == 6 and kg.pools["language"] == []
    assert {"Walter White", "Bong Joon Ho", "Mary Astor"} <= kg.people


def test_titles_already_in_the_kg_folder_are_skipped(tmp_path, capsys):
    films = tmp_path / "titles_films.jsonl"
    shutil.copy(ROOT / "synth/kg/titles_films.jsonl", films)
    out = tmp_path / "titles_imdb.jsonl"
    assert main(args(out, "--types", "movie")) == 0
    # The Godfather, Alien, Parasite and The Maltese Falcon are hand-written already; series not wanted
    assert out.read_text() == ""
    assert "skipped: already in the knowledge graph: 4" in capsys.readouterr().out
    assert load_kg(tmp_path).files == {"titles_films.jsonl": len(films.read_text().splitlines()),
                                       "titles_imdb.jsonl": 0}


def test_gzipped_input_limit_and_min_year(tmp_path):
    gz = tmp_path / "title.basics.tsv.gz"
    with gzip.open(gz, "wb") as fh:
        fh.write((FIX / "title.basics.tsv").read_bytes())
    out = tmp_path / "titles_imdb.jsonl"
    assert main(args(out, "--min-year", "1975", "--limit", "2", "--language", "English", basics=gz)) == 0
    titles = read(out)
    assert list(titles) == ["Alien", "Breaking Bad"]  # file order, the first two from 1975 on
    assert {t["language"] for t in titles.values()} == {"English"}


def test_bad_input_is_a_one_line_error(tmp_path, capsys):
    assert main(args(tmp_path / "o.jsonl", basics=FIX / "name.basics.tsv")) == 2
    err = capsys.readouterr().err
    assert "name.basics.tsv: missing column(s) tconst, titleType" in err and err.count("\n") == 1
    assert main(args(tmp_path / "o.jsonl", basics=tmp_path / "missing.tsv")) == 2
    assert "missing.tsv: file not found (--basics)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(args(tmp_path / "o.jsonl", "--types", "movie,tvEpisode"))


@pytest.mark.parametrize("raw, want", [
    ('["Vito Corleone"]', "Vito Corleone"),
    ('["Jack Torrance", "Jack"]', "Jack Torrance"),
    ('["Self"]', None), ('["Narrator"]', None), (None, None), ("not json", None),
    ('["  Padded   Name "]', "Padded Name"), ('["The \\"Boss\\""]', None),
])
def test_character_parsing(raw, want):
    assert character_of(raw) == want


def test_genre_and_value_cleaning():
    assert [genre_of(g) for g in ("Sci-Fi", "Film-Noir", "Biography", "Drama")] == \
        ["science fiction", "film noir", "biopic", "drama"]
    assert clean(' A  "quoted" title') is None and clean(" Spaced  Out ") == "Spaced Out"
