"""Build knowledge-graph title lines from IMDb's public TSV dumps (https://datasets.imdbws.com/).

    python -m synth.imdb --basics title.basics.tsv.gz --principals title.principals.tsv.gz \\
        --names name.basics.tsv.gz --out synth/kg/titles_imdb.jsonl [--min-year 1970] \\
        [--types movie,tvSeries,tvMiniSeries] [--limit 5000] [--max-cast 4] [--language unknown]

Files are read as IMDb ships them: tab-separated, a header row, `\\N` for null, plain or gzipped. They
are streamed in three passes (titles, then principals of the kept titles, then the names those need),
so memory grows with the titles kept, not with the multi-GB dumps. IMDb has no settings, themes, moods
or plot, so those stay empty; titles already in another `titles*.jsonl` of the output folder are
skipped, so the output always loads together with the hand-written files (`synth.kg.load_kg`).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import sys
from collections import Counter
from collections.abc import Container, Iterator
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from schemas import ConfigError
from synth.kg import FIRST_FILM_YEAR, UNKNOWN_LANGUAGE, read_titles

NULL = r"\N"
SOURCE = "IMDb non-commercial datasets (title.basics, title.principals, name.basics)"
MEDIA_TYPE = {"movie": "movie", "tvMovie": "movie", "tvSeries": "series", "tvMiniSeries": "series"}
# IMDb's fixed genre names, spelled the way the KG and queries spell them; others are just lowercased.
GENRE = {"Sci-Fi": "science fiction", "Film-Noir": "film noir", "Biography": "biopic", "Sport": "sports",
         "Reality-TV": "reality", "Game-Show": "game show", "Talk-Show": "talk show"}
# IMDb's placeholders for people appearing as themselves: not characters a user would name.
NOT_A_CHARACTER = {"self", "himself", "herself", "themselves", "narrator", "host"}
CAST = {"actor", "actress"}
COLUMNS = {
    "basics": ("tconst", "titleType", "primaryTitle", "isAdult", "startYear", "genres"),
    "principals": ("tconst", "ordering", "nconst", "category", "characters"),
    "names": ("nconst", "primaryName"),
}


def open_text(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def read_tsv(path: Path, kind: str, progress: bool = True,
             only: Container[str] | None = None) -> Iterator[dict[str, str | None]]:
    """Rows of an IMDb TSV as dicts, `\\N` -> None, with a byte-based progress bar.

    `only`: keep rows whose first column (tconst/nconst) is in it, checked before any parsing, since
    most of the 90M principal rows belong to titles we do not keep."""
    if not path.is_file():
        raise ConfigError([f"{path}: file not found (--{kind})"])
    size = path.stat().st_size
    with open_text(path) as fh, tqdm(total=size, unit="B", unit_scale=True, desc=f"imdb {path.name}",
                                     disable=not progress) as bar:
        header = fh.readline().decode("utf-8").rstrip("\r\n").split("\t")
        missing = [c for c in COLUMNS[kind] if c not in header]
        if missing:
            raise ConfigError([f"{path}: missing column(s) {', '.join(missing)}; is this IMDb's {kind} file "
                               f"(header: {' '.join(header[:6])})?"])
        raw = fh.fileobj if isinstance(fh, gzip.GzipFile) else fh  # type: ignore[attr-defined]
        last = 0
        for n, line in enumerate(fh):
            if only is None or line[:line.find(b"\t")].decode("ascii", "replace") in only:
                fields = line.decode("utf-8").rstrip("\r\n").split("\t")
                yield {c: (None if v == NULL else v) for c, v in zip(header, fields, strict=False)}
            if n % 4096 == 0:  # tell() per line would dominate the run time
                pos = raw.tell()
                bar.update(pos - last)
                last = pos
        bar.update(size - last)


def clean(value: str | None) -> str | None:
    """A value the KG accepts (trimmed, single-spaced, no quote or backslash), else None."""
    if value is None:
        return None
    value = " ".join(value.split())
    return value if value and '"' not in value and "\\" not in value else None


def character_of(characters: str | None) -> str | None:
    """First character name from IMDb's JSON list string, e.g. '["Vito Corleone"]' -> 'Vito Corleone'."""
    if not characters:
        return None
    try:
        names = json.loads(characters)
    except json.JSONDecodeError:
        return None
    name = clean(names[0]) if isinstance(names, list) and names and isinstance(names[0], str) else None
    return None if name is None or name.casefold() in NOT_A_CHARACTER else name


def genre_of(imdb_genre: str) -> str:
    return GENRE.get(imdb_genre, imdb_genre.lower().replace("-", " "))


def existing_keys(out: Path) -> set[tuple[str, int]]:
    """(title, year) of every title already in the output folder's other titles*.jsonl files."""
    problems: list[str] = []
    keys = {(t.title.casefold(), t.year)
            for path in sorted(out.parent.glob("titles*.jsonl")) if path.resolve() != out.resolve()
            for t in read_titles(path, problems)}
    if problems:
        raise ConfigError(problems[:20])
    return keys


def select_titles(args: argparse.Namespace, existing: set[tuple[str, int]], counts: Counter[str]
                  ) -> dict[str, dict[str, Any]]:
    """Pass 1: titles of the wanted types and years, keyed by tconst, in file order."""
    kept: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, int]] = set()
    this_year = datetime.date.today().year
    for row in read_tsv(args.basics, "basics", args.progress):
        if row["titleType"] not in args.types:
            continue
        year, title = row["startYear"], clean(row["primaryTitle"])
        key = (title.casefold() if title else "", int(year) if year and year.isdigit() else 0)
        if row["isAdult"] == "1":
            counts["skipped: adult"] += 1
        elif not args.min_year <= key[1] <= this_year:
            counts["skipped: no year, before --min-year or not yet released"] += 1
        elif title is None:
            counts["skipped: title with a quote or backslash"] += 1
        elif key in existing:
            counts["skipped: already in the knowledge graph"] += 1
        elif key in seen:
            # Two IMDb titles of one name and year cannot be told apart in a query: keep the first.
            counts["skipped: same title and year as an earlier IMDb title"] += 1
        else:
            seen.add(key)
            genres = [genre_of(g) for g in (row["genres"] or "").split(",") if g]
            kept[row["tconst"]] = {"title": title, "year": key[1], "media_type": MEDIA_TYPE[row["titleType"]],
                                   "genres": list(dict.fromkeys(genres)), "directors": [], "cast": []}
            if args.limit and len(kept) >= args.limit:
                break
    return kept


def attach_people(args: argparse.Namespace, kept: dict[str, dict[str, Any]]) -> None:
    """Passes 2 and 3: principal cast and directors of kept titles, then their names."""
    picked: dict[str, list[tuple[int, str, str, str | None]]] = {}
    for row in read_tsv(args.principals, "principals", args.progress, only=kept):
        if row["category"] in CAST | {"director"}:
            picked.setdefault(row["tconst"], []).append(
                (int(row["ordering"] or 0), row["category"], row["nconst"], character_of(row["characters"])))
    wanted = {p[2] for rows in picked.values() for p in rows}
    names = {row["nconst"]: clean(row["primaryName"])
             for row in read_tsv(args.names, "names", args.progress, only=wanted)}
    for tconst, rows in picked.items():
        title = kept[tconst]
        for _, category, nconst, character in sorted(rows):
            name = names.get(nconst)
            if name is None:
                continue
            if category == "director" and name not in title["directors"]:
                title["directors"].append(name)
            elif category in CAST and len(title["cast"]) < args.max_cast:
                title["cast"].append({"actor": name, "character": character})


def write_titles(out: Path, kept: dict[str, dict[str, Any]], language: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for t in kept.values():
            line = {**t, "settings": [], "themes": [], "moods": [], "plot": [], "language": language,
                    "source": SOURCE}
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(tmp, out)  # a half-written file never sits where load_kg would read it


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m synth.imdb", description=__doc__.split("\n")[0])
    p.add_argument("--basics", type=Path, required=True, help="title.basics.tsv[.gz]")
    p.add_argument("--principals", type=Path, required=True, help="title.principals.tsv[.gz]")
    p.add_argument("--names", type=Path, required=True, help="name.basics.tsv[.gz]")
    p.add_argument("--out", type=Path, required=True, help="e.g. synth/kg/titles_imdb.jsonl")
    p.add_argument("--min-year", type=int, default=FIRST_FILM_YEAR, help="earliest startYear kept")
    p.add_argument("--types", default="movie,tvSeries,tvMiniSeries",
                   help=f"IMDb titleTypes, comma-separated, from: {', '.join(MEDIA_TYPE)}")
    p.add_argument("--limit", type=int, default=0, help="stop after this many titles (0 = all)")
    p.add_argument("--max-cast", type=int, default=4, help="principal cast kept per title")
    p.add_argument("--language", default=UNKNOWN_LANGUAGE, help="language written on every title")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    args = p.parse_args(argv)
    args.types = [t.strip() for t in args.types.split(",") if t.strip()]
    bad = [t for t in args.types if t not in MEDIA_TYPE]
    if bad:
        p.error(f"--types: unknown titleType(s) {', '.join(bad)}; choose from {', '.join(MEDIA_TYPE)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts: Counter[str] = Counter()
    try:
        kept = select_titles(args, existing_keys(args.out), counts)
        attach_people(args, kept)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_titles(args.out, kept, args.language)
    print(f"wrote {len(kept)} titles to {args.out}")
    for reason, n in sorted(counts.items()):
        print(f"  {reason}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
