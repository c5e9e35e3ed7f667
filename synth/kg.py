"""The knowledge graph: real titles (`titles*.jsonl`) plus vocabulary pools (`vocab.yml`).

Every value here ends up verbatim inside a synthetic query and as a gold entity span, so loading is
strict: each title line is checked (keys, types, plausible year, no stray whitespace or quotes) and all
problems are reported at once, one line each, as `file:line: problem`.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas import ConfigError, Taxonomy, load_taxonomy, load_yaml, unknown_keys
from schemas.config import did_you_mean

DEFAULT_KG = Path("synth/kg")
TITLE_KEYS = ("title", "year", "media_type", "genres", "directors", "cast", "settings", "themes", "moods",
              "plot", "language", "source")
OPTIONAL_KEYS = ("franchise",)  # groups titles the name stem cannot (Alien / Aliens); see franchise_key
LIST_KEYS = ("genres", "directors", "settings", "themes", "moods", "plot")
CAST_KEYS = ("actor", "character")
# Pools a title line feeds, by the KG file format (docs/DESIGN.md); the taxonomy may add vocab-only pools.
FIELD_POOL = {"genres": "genre", "directors": "director", "settings": "setting", "themes": "theme",
              "moods": "mood", "plot": "plot"}
TITLE_POOLS = ("title", "actor", "director", "character", "genre", "mood", "theme", "plot", "setting", "year",
               "media_type", "language")
UNKNOWN_LANGUAGE = "unknown"  # what importers write when a source has no language; never a pool value
FIRST_FILM_YEAR = 1888
MAX_SHOWN = 100  # a broken multi-GB import should not print millions of lines


@dataclass(frozen=True)
class CastMember:
    actor: str
    character: str | None = None

    # Mapping-style access too (`c["actor"]`, `c.get("character")`), as for the JSON object it came from.
    def __getitem__(self, key: str) -> str | None:
        if key not in CAST_KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in CAST_KEYS else default


@dataclass(frozen=True)
class TitleFacts:
    title: str
    year: int
    media_type: str
    genres: tuple[str, ...] = ()
    directors: tuple[str, ...] = ()
    cast: tuple[CastMember, ...] = ()
    settings: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    moods: tuple[str, ...] = ()
    plot: tuple[str, ...] = ()
    language: str = UNKNOWN_LANGUAGE
    source: str = ""
    franchise: str | None = None
    where: str = field(default="", compare=False)  # "file:line", for messages


@dataclass
class KnowledgeGraph:
    titles: list[TitleFacts]
    pools: dict[str, list[str]]
    people: set[str]                     # every actor, director and character name
    title_by_name: dict[str, TitleFacts]  # exact title -> first title of that name in load order
    files: dict[str, int]                # titles per file name


def _bad_value(v: Any) -> str | None:
    if not isinstance(v, str) or not v.strip():
        return "must be a non-empty string"
    if v != v.strip() or "  " in v:
        return f"'{v}' has stray whitespace"
    if '"' in v or "\\" in v:
        return f"'{v}' contains a double quote or backslash"
    return None


def _joined_theme(v: Any) -> str | None:
    # Taxonomy: one idea per theme, so "themes of loyalty and survival" is two theme entities. A KG value
    # "love and duty" would teach the opposite label for the same words in another record.
    if isinstance(v, str) and re.search(r"\s(?:and|&)\s", v):
        return f"'{v}' joins two ideas; list each theme on its own (taxonomy: one idea per theme)"
    return None


def parse_title(raw: Any, where: str, problems: list[str]) -> TitleFacts | None:
    """One title line -> TitleFacts, appending a `where: problem` line for each defect found."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a JSON object, got {type(raw).__name__}")
        return None
    found = [f"{where}: missing key '{k}'" for k in TITLE_KEYS if k not in raw]
    found += unknown_keys(raw, (*TITLE_KEYS, *OPTIONAL_KEYS), where)
    if raw.get("franchise") is not None and (err := _bad_value(raw["franchise"])):
        found.append(f"{where}: franchise {err} (or leave the key out)")
    for key in ("title", "media_type", "language", "source"):
        if key in raw and (err := _bad_value(raw[key])):
            found.append(f"{where}: {key} {err}")
    year = raw.get("year")
    last = datetime.date.today().year + 5
    if "year" in raw and (type(year) is not int or not FIRST_FILM_YEAR <= year <= last):
        found.append(f"{where}: year {year!r} must be an integer from {FIRST_FILM_YEAR} to {last}")
    for key in (k for k in LIST_KEYS if k in raw):
        if not isinstance(raw[key], list):
            found.append(f"{where}: {key} must be a list of strings")
            continue
        found += [f"{where}: {key}[{i}] {err}" for i, v in enumerate(raw[key]) if (err := _bad_value(v))]
        if key == "themes":
            found += [f"{where}: {key}[{i}] {err}" for i, v in enumerate(raw[key])
                      if (err := _joined_theme(v))]
    cast = raw.get("cast", [])
    if not isinstance(cast, list):
        found.append(f"{where}: cast must be a list of {{actor, character}} objects")
        cast = []
    for i, c in enumerate(cast):
        if not isinstance(c, dict):
            found.append(f"{where}: cast[{i}] must be an object with 'actor' and 'character'")
            continue
        found += unknown_keys(c, CAST_KEYS, f"{where}: cast[{i}]")
        if err := _bad_value(c.get("actor")):
            found.append(f"{where}: cast[{i}].actor {err}")
        if c.get("character") is not None and (err := _bad_value(c["character"])):
            found.append(f"{where}: cast[{i}].character {err} (or null when unknown)")
    problems += found
    if found:
        return None
    return TitleFacts(
        title=raw["title"], year=year, media_type=raw["media_type"],
        cast=tuple(CastMember(c["actor"], c.get("character")) for c in cast),
        language=raw["language"], source=raw["source"], franchise=raw.get("franchise"), where=where,
        **{k: tuple(raw[k]) for k in LIST_KEYS},
    )


_NUMBER = r"(?:\d+|one|two|three|four|five|ii|iii|iv|v|vi|vii|viii|ix|x)"
_SEQUEL = re.compile(rf"\s+(?:(?:part|chapter|episode|vol|volume)\s+{_NUMBER}|{_NUMBER})$")


def title_stem(title: str) -> str:
    """A title's franchise stem: lowercased, before any subtitle (':', ' - ', '('), without a leading
    article, punctuation or a trailing sequel number. "Blade Runner 2049", "Dune: Part Two" and "The
    Godfather Part II" stem to their first film's title, so a split can keep them together."""
    s = re.split(r"\s*[:(]\s*|\s+[-\u2013\u2014]\s+", title.casefold())[0]
    s = re.sub(r"[^\w\s]", "", s)
    s = re.sub(r"^(?:the|a|an)\s+", "", s.strip())
    return _SEQUEL.sub("", s).strip() or title.casefold()


def franchise_key(t: TitleFacts) -> str:
    """What keeps titles on one side of the heldout split: the KG's `franchise` field where a curator
    set one (names the stem cannot relate: Alien / Aliens, Star Wars / The Empire Strikes Back), else
    the title's stem (which also keeps remakes that share a name together)."""
    return title_stem(t.franchise) if t.franchise else title_stem(t.title)


def read_titles(path: Path, problems: list[str]) -> list[TitleFacts]:
    titles = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            if (t := parse_title(raw, where, problems)) is not None:
                titles.append(t)
    return titles


def read_vocab(path: Path, pool_names: Iterable[str], problems: list[str]) -> dict[str, list[str]]:
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected a mapping of pool name -> list of strings")
        return {}
    problems += unknown_keys(raw, pool_names, str(path))
    vocab: dict[str, list[str]] = {}
    for pool, values in raw.items():
        if not isinstance(values, list):
            problems.append(f"{path}: {pool} must be a list of strings")
            continue
        problems += [f"{path}: {pool}[{i}] {err}" for i, v in enumerate(values)
                     if (err := _bad_value(v) or (_joined_theme(v) if pool == "theme" else None))]
        vocab[str(pool)] = [v for v in values if isinstance(v, str)]
    return vocab


def _check_titles(titles: list[TitleFacts], vocab: dict[str, list[str]], problems: list[str]) -> None:
    first: dict[tuple[str, int], str] = {}
    media = {m.casefold() for m in vocab.get("media_type", [])}
    for t in titles:
        key = (t.title.casefold(), t.year)
        if key in first:
            problems.append(f"{t.where}: duplicate title '{t.title}' ({t.year}), first at {first[key]}")
        first.setdefault(key, t.where)
        # A media_type is slotted into queries as is, so it must be a word the vocabulary knows.
        if media and t.media_type.casefold() not in media:
            problems.append(f"{t.where}: media_type '{t.media_type}' is not in vocab.yml media_type"
                            f"{did_you_mean(t.media_type, vocab['media_type'])}")


def title_pool_values(t: TitleFacts) -> dict[str, list[str]]:
    """The values one title contributes to each pool."""
    values = {pool: list(getattr(t, key)) for key, pool in FIELD_POOL.items()}
    values.update(title=[t.title], actor=[c.actor for c in t.cast], year=[str(t.year)],
                  character=[c.character for c in t.cast if c.character], media_type=[t.media_type],
                  language=[t.language] if t.language != UNKNOWN_LANGUAGE else [])
    return values


def build_pools(titles: list[TitleFacts], vocab: dict[str, list[str]],
                pool_names: Iterable[str]) -> dict[str, list[str]]:
    """Union of vocab and title values per pool, deduplicated case-insensitively (first spelling wins,
    vocab first, since it is the curated one), sorted case-insensitively."""
    chosen: dict[str, dict[str, str]] = {p: {} for p in pool_names}
    for p, values in vocab.items():
        for v in values:
            chosen[p].setdefault(v.casefold(), v)
    for t in titles:
        for p, values in title_pool_values(t).items():
            for v in values:
                chosen[p].setdefault(v.casefold(), v)
    return {p: sorted(c.values(), key=lambda v: (v.casefold(), v)) for p, c in chosen.items()}


def load_kg(dir: Path = DEFAULT_KG, taxonomy: Taxonomy | None = None) -> KnowledgeGraph:
    """Read every `titles*.jsonl` and `vocab.yml` (optional) in `dir`; ConfigError lists every problem."""
    dir = Path(dir)
    if not dir.is_dir():
        raise ConfigError([f"{dir}: knowledge graph folder not found"])
    files = sorted(dir.glob("titles*.jsonl"))
    if not files:
        raise ConfigError([f"{dir}: no titles*.jsonl files (one JSON title per line, see SOURCES.md)"])
    tax = taxonomy or load_taxonomy()
    pool_names = list(dict.fromkeys([*TITLE_POOLS, *(et.source for et in tax.entity_types.values())]))
    problems: list[str] = []
    vocab = read_vocab(dir / "vocab.yml", pool_names, problems) if (dir / "vocab.yml").is_file() else {}
    titles: list[TitleFacts] = []
    per_file: dict[str, int] = {}
    for path in files:
        got = read_titles(path, problems)
        per_file[path.name] = len(got)
        titles += got
    _check_titles(titles, vocab, problems)
    if problems:
        more = len(problems) - MAX_SHOWN
        raise ConfigError(problems[:MAX_SHOWN] + ([f"... and {more} more problems"] if more > 0 else []))
    by_name: dict[str, TitleFacts] = {}
    for t in titles:
        by_name.setdefault(t.title, t)
    people = {v for t in titles for c in t.cast for v in (c.actor, c.character) if v}
    people |= {d for t in titles for d in t.directors}
    return KnowledgeGraph(titles=titles, pools=build_pools(titles, vocab, pool_names), people=people,
                          title_by_name=by_name, files=per_file)


def kg_summary(kg: KnowledgeGraph) -> dict[str, Any]:
    """Counts for manifests and audit reports: per pool, file, media type, language and decade."""
    count = lambda values: dict(sorted(Counter(values).items()))  # noqa: E731
    return {
        "titles": len(kg.titles),
        "people": len(kg.people),
        "files": dict(sorted(kg.files.items())),
        "pools": {p: len(v) for p, v in sorted(kg.pools.items())},
        "media_type": count(t.media_type for t in kg.titles),
        "language": count(t.language for t in kg.titles),
        "decade": count(f"{t.year // 10 * 10}s" for t in kg.titles),
    }
