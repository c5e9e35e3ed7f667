"""Open pools: realistic values that need not be true facts (names, titles, long plots, genre phrases).

A query such as "play <title>" or "movies with <actor>" needs a plausible name, not a fact from our
knowledge graph; the model should learn how people name things, not which names our KG holds. Person
names come from Faker across many locales, titles are composed from word lists (synth/pools.yml), long
plots and qualified genre phrases likewise. Each pool is built deterministically for a seed, then split
into a train part and a heldout part, so the heldout split only ever sees open values it never trained on.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas import ConfigError, load_yaml, unknown_keys
from synth.templates import article

DEFAULT_WORDS = "synth/pools.yml"  # relative to the project root, as the recipe's other paths
OPEN_POOLS = ("title", "actor", "director", "character")  # slots whose values an open frame replaces
FORM_POOLS = {"clause": "plot", "phrase": "genre"}  # slot form -> the only pool it may be used with
CONFIG_KEYS = ("share", "sizes", "words")
WORD_KEYS = ("locales", "character_titles", "syllables", "epithets", "title_patterns", "nouns",
             "nouns_plural", "adjectives", "verbing", "verbs", "numbers", "plot_subjects",
             "plot_predicates", "plot_tails", "genre_qualifiers", "genre_heads")
DEFAULT_SIZES = {"title": 6000, "actor": 6000, "director": 3000, "character": 6000, "clause": 4000,
                 "phrase": 600}
# Latin script only (accents allowed): queries are typed on Latin keyboards.
_LATIN = re.compile(r"^[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F .'\-]*$")
_FIELD = re.compile(r"\{(\w+)\}")
_PUNCT = re.compile(r"[!-/:-@\[-`{-~‘’“”–—…]")
_A_AN = re.compile(r"\ba/an (\S+)")


def value_key(value: str) -> str:
    """The identity of a value as the audit and the scorer see it (sql/macros/text.sql normalize_value:
    lowercase, no punctuation, one space, no leading article): "The Ocean" and "ocean" are one value."""
    key = " ".join(_PUNCT.sub("", value.lower()).split())
    return re.sub(r"^(a|an|the) ", "", key)


@dataclass(frozen=True)
class OpenPoolConfig:
    """The recipe's `open_pools` section."""

    share: float = 0.0          # share of frames whose title and people slots come from open pools
    sizes: tuple[tuple[str, int], ...] = tuple(DEFAULT_SIZES.items())
    words: str = DEFAULT_WORDS

    @classmethod
    def from_mapping(cls, data: Any, where: str = "open_pools") -> OpenPoolConfig:
        data = dict(data or {})
        problems = unknown_keys(data, CONFIG_KEYS, where)
        share = data.get("share", 0.0)
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            problems.append(f"{where}.share: must be a probability in [0, 1], got {share!r}")
        sizes = dict(DEFAULT_SIZES)
        raw_sizes = data.get("sizes") or {}
        if not isinstance(raw_sizes, dict):
            problems.append(f"{where}.sizes: must be a mapping pool -> size")
            raw_sizes = {}
        for k, v in raw_sizes.items():
            if k not in DEFAULT_SIZES:
                problems.append(f"{where}.sizes: unknown pool '{k}'; pools: {', '.join(DEFAULT_SIZES)}")
            elif isinstance(v, bool) or not isinstance(v, int) or v < 10:
                problems.append(f"{where}.sizes.{k}: must be an integer >= 10, got {v!r}")
            else:
                sizes[k] = v
        words = str(data.get("words", DEFAULT_WORDS))
        if not Path(words).is_file():
            problems.append(f"{where}.words: file '{words}' not found")
        if problems:
            raise ConfigError(problems)
        return cls(float(share), tuple(sizes.items()), words)

    def to_dict(self) -> dict[str, Any]:
        return {"share": self.share, "sizes": dict(self.sizes), "words": self.words}


def load_words(path: str | Path) -> dict[str, list[str]]:
    raw = load_yaml(Path(path)) or {}
    problems = unknown_keys(raw, WORD_KEYS, str(path))
    problems += [f"{path}: '{k}' must be a non-empty list of strings" for k in WORD_KEYS
                 if not isinstance(raw.get(k), list) or not raw[k]]
    if problems:
        raise ConfigError(problems)
    return {k: [str(w) for w in raw[k]] for k in WORD_KEYS}


def _fakers(locales: list[str], seed: int) -> list[Any]:
    from faker import Faker  # heavy import, only when open pools are on

    out = []
    for i, loc in enumerate(locales):
        f = Faker(loc)
        f.seed_instance(f"{seed}:{i}:{loc}")
        out.append(f)
    return out


def _name_part(f: Any, part: str) -> str:
    # Japanese and Chinese locales write names in their own script; their romanized forms are Latin.
    romanized = getattr(f, f"{part}_romanized_name", None)
    try:
        return romanized() if romanized is not None else getattr(f, f"{part}_name")()
    except AttributeError:
        return getattr(f, f"{part}_name")()


def _names(fakers: list[Any], rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(first, last) pairs in Latin script, drawn round-robin over locales."""
    out: list[tuple[str, str]] = []
    alive = list(fakers)
    for _ in range(n * 6):
        if len(out) >= n or not alive:
            break
        f = alive[rng.randrange(len(alive))]
        first, last = _name_part(f, "first"), _name_part(f, "last")
        if _LATIN.match(first) and _LATIN.match(last):
            out.append((first, last))
    return out


def _person(first: str, last: str, rng: random.Random, names: list[tuple[str, str]]) -> str:
    r = rng.random()
    if r < 0.08:  # a middle initial: "Samuel L. Jackson"
        return f"{first} {rng.choice(names)[0][0]}. {last}"
    if r < 0.12:  # a double-barrelled or two-part surname
        return f"{first} {last}-{rng.choice(names)[1]}"
    return f"{first} {last}"


def _character(first: str, last: str, rng: random.Random, w: dict[str, list[str]]) -> str:
    r = rng.random()
    if r < 0.35:
        return f"{first} {last}"
    if r < 0.6:
        return first
    if r < 0.8:
        return f"{rng.choice(w['character_titles'])} {rng.choice([first, last])}"
    made = "".join(rng.choice(w["syllables"]) for _ in range(rng.choice((2, 2, 3)))).capitalize()
    return made if r < 0.93 else f"{made} {rng.choice(w['epithets'])}"


def _title(rng: random.Random, w: dict[str, list[str]], names: list[tuple[str, str]],
           cities: list[str]) -> str:
    fill = {"Noun": lambda: rng.choice(w["nouns"]), "Nouns": lambda: rng.choice(w["nouns_plural"]),
            "Adj": lambda: rng.choice(w["adjectives"]), "Verbing": lambda: rng.choice(w["verbing"]),
            "Verb": lambda: rng.choice(w["verbs"]), "number": lambda: rng.choice(w["numbers"]),
            "name": lambda: rng.choice(names)[0], "last": lambda: rng.choice(names)[1],
            "city": lambda: rng.choice(cities), "n": lambda: rng.choice(("2", "3", "4", "II", "III"))}
    pattern = rng.choice(w["title_patterns"])
    title = _FIELD.sub(lambda m: fill[m.group(1)](), pattern)
    return _A_AN.sub(lambda m: f"{article(m.group(1))} {m.group(1)}", title)


def _clause(rng: random.Random, w: dict[str, list[str]]) -> str:
    text = f"{rng.choice(w['plot_subjects'])} {rng.choice(w['plot_predicates'])}"
    return f"{text} {rng.choice(w['plot_tails'])}" if rng.random() < 0.4 else text


def _phrase(rng: random.Random, quals: list[str], heads: list[str]) -> str:
    return f"{rng.choice(quals)} {rng.choice(heads)}"


def _fill(make: Any, n: int, taken: set[str]) -> list[str]:
    """Up to `n` distinct values from `make()`, none the same value (value_key) as a taken one."""
    seen: set[str] = set()
    out: list[str] = []
    for _ in range(n * 8):
        if len(out) >= n:
            break
        v = " ".join(make().split())
        key = value_key(v)
        if key and key not in taken and key not in seen:
            seen.add(key)
            out.append(v)
    return out


@dataclass(frozen=True)
class OpenPools:
    """pool -> {is heldout -> values}; pools: title, actor, director, character, clause, phrase."""

    values: dict[str, dict[bool, list[str]]]

    def sizes(self) -> dict[str, dict[str, int]]:
        return {p: {"train": len(v[False]), "heldout": len(v[True])} for p, v in sorted(self.values.items())}


def build_open_pools(cfg: OpenPoolConfig, seed: int, taken: set[str], heldout_share: float) -> OpenPools:
    """Every open pool, deterministic for (cfg, seed); `taken` holds KG values to avoid (any case)."""
    w = load_words(cfg.words)
    sizes = dict(cfg.sizes)
    rng = random.Random(f"{seed}:open-pools")
    fakers = _fakers(w["locales"], seed)
    names = _names(fakers, rng, max(sizes["actor"], sizes["director"], sizes["character"]) * 2)
    cities = sorted({c for f in fakers[:2] for c in (f.city() for _ in range(200)) if _LATIN.match(c)})
    taken = {value_key(v) for v in taken}
    quals = [q for q in w["genre_qualifiers"] if value_key(q) not in taken]
    makers = {
        "actor": lambda: _person(*rng.choice(names), rng, names),
        "director": lambda: _person(*rng.choice(names), rng, names),
        "character": lambda: _character(*rng.choice(names), rng, w),
        "title": lambda: _title(rng, w, names, cities),
        "clause": lambda: _clause(rng, w),
        "phrase": lambda: _phrase(rng, quals, w["genre_heads"]),
    }
    values: dict[str, dict[bool, list[str]]] = {}
    used = set(taken)
    for pool, make in makers.items():
        # One string is one role across pools: an open actor never reappears as an open title.
        vals = _fill(make, sizes[pool], used)
        used |= {value_key(v) for v in vals}
        order = sorted(vals)
        random.Random(f"{seed}:open-split:{pool}").shuffle(order)
        h = max(1, round(len(order) * heldout_share)) if heldout_share > 0 else 0
        values[pool] = {True: order[:h] or order, False: order[h:] or order}
    return OpenPools(values)
