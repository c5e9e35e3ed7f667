"""Surface noise on span-preserving segments: casing, typos, fillers, end punctuation.

Every transform maps segments to segments, `(segments, rng, **params) -> segments`, so gold spans stay
exact whatever it does. The gold value is whatever text the span holds: casing, `entity_typo` (a typo
inside an entity value: users misspell names) and `strip_punctuation` (the whole query, entities
included: "oceans eleven", "dr strange") change entity text, and the label follows what was typed.
`apply_noise` draws which transforms a query gets from a `NoiseConfig`, built from the `grammar.noise`
mapping of a data recipe.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Any

from schemas import ConfigError, unknown_keys
from synth.segments import Segment

Transform = Callable[..., list[Segment]]

DEFAULT_END_PUNCTUATION = (("keep", 0.6), ("drop", 0.15), ("?", 0.15), (".", 0.05), ("!", 0.03),
                           ("...", 0.02))
DEFAULT_TYPO_KINDS = (("substitute", 1.0), ("delete", 1.0), ("transpose", 1.0), ("double", 1.0))
DEFAULT_FILLERS_START = ("um", "uh", "hey", "hey,", "so", "ok", "ok so", "hmm", "yo", "please")
DEFAULT_FILLERS_END = ("please", "pls", "thanks", "thx", "thank you")
# Disfluencies inside the query, as speech-to-text and hurried typing leave them ("so um what was that").
DEFAULT_DISFLUENCIES = ("um", "uh", "er", "erm", "like", "you know", "i mean", "well", "kinda", "sort of",
                        "actually", "basically", "ok so", "hmm")
# Chit-chat around a request, free of media, genre, mood and platform words (those are always labelled).
# eval/robustness/config.yml's distractor clauses are a different list, so that set still measures unseen
# chatter.
DEFAULT_CHATTER_BEFORE = (
    "hey so my roommate keeps asking and", "long week,", "sorry if this is a dumb question but",
    "ok random one:", "this has been bugging me all day,", "not sure if you can help but",
    "we're snowed in and", "my partner fell asleep so", "just got home and", "settle a debate:",
    "been searching forever,", "on a plane soon so", "asking for my dad:", "weird request but",
    "my brain is fried so")
DEFAULT_CHATTER_AFTER = (
    "cheers", "if you can", "any ideas?", "lol", "appreciate it", "no worries if not", "asap",
    "before my battery dies", "my mom wants to know", "it's for a sleepover", "help")

_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY_POS = {c: (r, i) for r, row in enumerate(_KEYBOARD) for i, c in enumerate(row)}
# Keys touching each key on a QWERTY layout (row stagger ignored): the likeliest slips of a finger.
_NEIGHBOURS = {c: "".join(o for o, (r2, i2) in _KEY_POS.items()
                          if o != c and abs(r2 - r) <= 1 and abs(i2 - i) <= 1)
               for c, (r, i) in _KEY_POS.items()}
_MULTISPACE = re.compile(r"\s{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,.?!;:…])")
_TRAILING_PUNCT = re.compile(r"[\s.?!…]*$")
_PUNCT = re.compile(r"[.,?!;:…\"]")
_PUNCT_APOSTROPHE = re.compile(r"[.,?!;:…\"'’]")
_END_MARK = re.compile(r"^[.?!…]+$")


def tidy_spaces(segments: Sequence[Segment]) -> list[Segment]:
    """Merge adjacent plain text, collapse its doubled spaces and spaces before punctuation, strip the
    query's ends. Entity text is never touched."""
    merged: list[Segment] = []
    for text, etype in segments:
        if etype is None and merged and merged[-1][1] is None:
            merged[-1] = (merged[-1][0] + text, None)
        else:
            merged.append((text, etype))
    out = [(t if e is not None else _SPACE_BEFORE_PUNCT.sub("", _MULTISPACE.sub(" ", t)), e)
           for t, e in merged]
    if out and out[0][1] is None:
        out[0] = (out[0][0].lstrip(), None)
    if out and out[-1][1] is None:
        out[-1] = (out[-1][0].rstrip(), None)
    return [(t, e) for t, e in out if t or e is not None]


def lowercase(segments: Sequence[Segment], rng: random.Random | None = None, *,
              inside_entities: bool = True) -> list[Segment]:
    return [(t.lower() if e is None or inside_entities else t, e) for t, e in segments]


def uppercase(segments: Sequence[Segment], rng: random.Random | None = None, *,
              inside_entities: bool = True) -> list[Segment]:
    return [(t.upper() if e is None or inside_entities else t, e) for t, e in segments]


def capitalize_first(segments: Sequence[Segment], rng: random.Random | None = None) -> list[Segment]:
    out = list(segments)
    for i, (text, etype) in enumerate(out):
        if text:
            out[i] = (text[0].upper() + text[1:], etype)
            break
    return out


@lru_cache(maxsize=8)
def _word_re(min_letters: int) -> re.Pattern[str]:
    return re.compile(rf"[A-Za-z]{{{min_letters},}}")


def _substitute(word: str, rng: random.Random) -> str:
    j = rng.randrange(1, len(word))  # first letters are rarely mistyped
    c = rng.choice(_NEIGHBOURS[word[j].lower()])
    return word[:j] + (c.upper() if word[j].isupper() else c) + word[j + 1:]


def _delete(word: str, rng: random.Random) -> str:
    j = rng.randrange(1, len(word))
    return word[:j] + word[j + 1:]


def _double(word: str, rng: random.Random) -> str:
    j = rng.randrange(len(word))
    return word[:j + 1] + word[j] + word[j + 1:]


def _transpose(word: str, rng: random.Random) -> str:
    spots = [j for j in range(1, len(word) - 1) if word[j] != word[j + 1]]
    if not spots:
        return _double(word, rng)
    j = rng.choice(spots)
    return word[:j] + word[j + 1] + word[j] + word[j + 2:]


TYPO_KINDS: dict[str, Callable[[str, random.Random], str]] = {
    "substitute": _substitute, "delete": _delete, "transpose": _transpose, "double": _double,
}


def typo(segments: Sequence[Segment], rng: random.Random, *, inside_entities: bool = False,
         kinds: Mapping[str, float] | Sequence[tuple[str, float]] = DEFAULT_TYPO_KINDS,
         min_letters: int = 4, only_entities: bool = False, count: int = 1) -> list[Segment]:
    """`count` typos, one at a time, each in one word of >= `min_letters` ASCII letters; unchanged when no
    word qualifies. `only_entities` puts them inside entity values (the gold span follows the misspelling)."""
    out = list(segments)
    for _ in range(count):
        out = _one_typo(out, rng, inside_entities, kinds, min_letters, only_entities)
    return out


def _one_typo(segments: Sequence[Segment], rng: random.Random, inside_entities: bool,
              kinds: Mapping[str, float] | Sequence[tuple[str, float]], min_letters: int,
              only_entities: bool) -> list[Segment]:
    word_re = _word_re(min_letters)
    spots = [(i, m.start(), m.end()) for i, (text, etype) in enumerate(segments)
             if (etype is not None if only_entities else etype is None or inside_entities)
             for m in word_re.finditer(text)]
    if not spots:
        return list(segments)
    i, s, e = spots[rng.randrange(len(spots))]
    names, weights = zip(*dict(kinds).items(), strict=True)
    misspell = TYPO_KINDS[rng.choices(names, weights)[0]]
    out = list(segments)
    text, etype = out[i]
    out[i] = (text[:s] + misspell(text[s:e], rng) + text[e:], etype)
    return out


def strip_punctuation(segments: Sequence[Segment], rng: random.Random | None = None, *,
                      inside_entities: bool = False, apostrophes: bool = False) -> list[Segment]:
    pattern = _PUNCT_APOSTROPHE if apostrophes else _PUNCT
    return tidy_spaces([(pattern.sub("", t) if e is None or inside_entities else t, e) for t, e in segments])


def add_filler(segments: Sequence[Segment], rng: random.Random, *,
               start: Sequence[str] = DEFAULT_FILLERS_START, end: Sequence[str] = DEFAULT_FILLERS_END,
               start_share: float = 0.7) -> list[Segment]:
    """A filler word before the query ("um", "hey,") or after it, ahead of any end punctuation."""
    out = list(segments)
    if start and (not end or rng.random() < start_share):
        return tidy_spaces([(rng.choice(start) + " ", None), *out])
    if not end:
        return out
    word = rng.choice(end)
    if out and out[-1][1] is None:
        text = out[-1][0]
        cut = _TRAILING_PUNCT.search(text).start()  # type: ignore[union-attr]
        out[-1] = (f"{text[:cut]} {word}{text[cut:].strip()}", None)
    else:
        out.append((" " + word, None))
    return tidy_spaces(out)


def _insert_all(segments: Sequence[Segment], edits: list[tuple[int, int, str]]) -> list[Segment]:
    """Apply (segment index, offset, text) insertions, all placed against the original segments, so an
    inserted filler is never split by a later one. Text at offset 0 of an entity goes in front of it."""
    out = list(segments)
    for i, at, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        seg, etype = out[i]
        out[i:i + 1] = ([(text, None), (seg, etype)] if etype is not None
                        else [(seg[:at] + text + seg[at:], None)])
    return out


_WORD = re.compile(r"[A-Za-z']+")


def disfluencies(segments: Sequence[Segment], rng: random.Random, *, count: int = 1,
                 words: Sequence[str] = ("um",), repeat_share: float = 0.0) -> list[Segment]:
    """`count` disfluencies inside the query: a filler word at a word boundary ("so um I want"), or, with
    probability `repeat_share`, a repeated word ("I I want"); never inside an entity."""
    # Word boundaries: the query start and after every space of plain text (never inside an entity).
    spots = [(0, 0)] + [(i, m.end()) for i, (text, etype) in enumerate(segments) if etype is None
                        for m in re.finditer(r" ", text)]
    plain_words = [(i, m) for i, (text, etype) in enumerate(segments) if etype is None
                   for m in _WORD.finditer(text)]
    edits: list[tuple[int, int, str]] = []
    for _ in range(count):
        if plain_words and rng.random() < repeat_share:
            i, m = rng.choice(plain_words)
            edits.append((i, m.end(), " " + m.group()))
        else:
            i, at = rng.choice(spots)
            edits.append((i, at, rng.choice(words) + " "))
    return tidy_spaces(_insert_all(segments, edits))


def chatter(segments: Sequence[Segment], rng: random.Random, *, count: int = 1,
            before: Sequence[str] = (), after: Sequence[str] = ()) -> list[Segment]:
    """`count` irrelevant clauses around the query, alternating before and after it (the first side
    drawn), none repeated."""
    out = list(segments)
    sides = [s for s, pool in (("before", before), ("after", after)) if pool]
    if not sides:
        return out
    side = rng.choice(sides)
    used: set[str] = set()
    for _ in range(count):
        pool = [c for c in (before if side == "before" else after) if c not in used] or list(before or after)
        clause = rng.choice(pool)
        used.add(clause)
        out = [(clause + " ", None), *out] if side == "before" else [*out, (" " + clause, None)]
        side = {"before": "after", "after": "before"}[side] if len(sides) == 2 else side
    return tidy_spaces(out)


def end_punctuation(segments: Sequence[Segment], rng: random.Random, *,
                    choices: Mapping[str, float] | Sequence[tuple[str, float]] = DEFAULT_END_PUNCTUATION
                    ) -> list[Segment]:
    """Keep the template's ending, drop it, or replace it with one of the listed marks."""
    names, weights = zip(*dict(choices).items(), strict=True)
    pick = rng.choices(names, weights)[0]
    if pick == "keep" or not segments:
        return list(segments)
    out = list(segments)
    if out[-1][1] is None:
        out[-1] = (_TRAILING_PUNCT.sub("", out[-1][0]), None)
    if pick != "drop":
        out.append((pick, None))
    return tidy_spaces(out)


TRANSFORMS: dict[str, Transform] = {
    "lowercase": lowercase, "uppercase": uppercase, "capitalize_first": capitalize_first, "typo": typo,
    "strip_punctuation": strip_punctuation, "add_filler": add_filler, "end_punctuation": end_punctuation,
    "disfluencies": disfluencies, "chatter": chatter,
}

PROBABILITIES = ("lowercase_all", "uppercase_all", "capitalize_first", "typo", "filler", "filler_start_share",
                 "entity_typo", "strip_punctuation", "disfluency", "disfluency_repeat_share", "chatter")
WORD_LISTS = ("fillers_start", "fillers_end", "disfluencies", "chatter_before", "chatter_after")
COUNTS = ("typo_min_letters", "typo_max", "disfluency_max")


@dataclass(frozen=True)
class NoiseConfig:
    """Per-query probabilities (and choices) of each transform; the recipe's `grammar.noise` mapping."""

    lowercase_all: float = 0.35        # whole query lowercased, entities included
    uppercase_all: float = 0.01        # whole query uppercased (exclusive with lowercase_all)
    capitalize_first: float = 0.5
    end_punctuation: tuple[tuple[str, float], ...] = DEFAULT_END_PUNCTUATION  # keep | drop | a mark: weight
    typo: float = 0.08                 # one typo in a non-entity word
    typo_kinds: tuple[tuple[str, float], ...] = DEFAULT_TYPO_KINDS            # kind: weight
    typo_min_letters: int = 4
    filler: float = 0.1
    filler_start_share: float = 0.7    # share of fillers put before the query rather than after it
    fillers_start: tuple[str, ...] = DEFAULT_FILLERS_START
    fillers_end: tuple[str, ...] = DEFAULT_FILLERS_END
    entity_typo: float = 0.0           # one typo inside an entity value; the gold span is the typo
    strip_punctuation: float = 0.0     # no punctuation anywhere, entities and apostrophes included
    typo_max: int = 1                  # a query drawn for `typo` gets 1..typo_max of them
    disfluency: float = 0.0            # 1..disfluency_max fillers or repeated words inside the query
    disfluency_max: int = 2
    disfluency_repeat_share: float = 0.2
    disfluencies: tuple[str, ...] = DEFAULT_DISFLUENCIES
    chatter: float = 0.0               # an irrelevant clause before or after the request
    chatter_before: tuple[str, ...] = DEFAULT_CHATTER_BEFORE
    chatter_after: tuple[str, ...] = DEFAULT_CHATTER_AFTER

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "grammar.noise") -> NoiseConfig:
        """Build from YAML; every problem (unknown key, bad probability, bad choice) raised at once."""
        data = dict(data or {})
        problems = unknown_keys(data, [f.name for f in fields(cls)], where)
        for key in PROBABILITIES:
            v = data.get(key, 0.0)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                problems.append(f"{where}.{key}: must be a probability in [0, 1], got {v!r}")
        problems += _weights_problems(data.get("end_punctuation"), f"{where}.end_punctuation",
                                      lambda k: k in ("keep", "drop") or bool(_END_MARK.match(k)),
                                      "keep, drop or marks such as '?', '!', '...'")
        problems += _weights_problems(data.get("typo_kinds"), f"{where}.typo_kinds",
                                      lambda k: k in TYPO_KINDS, ", ".join(TYPO_KINDS))
        for key, least in zip(COUNTS, (2, 1, 1), strict=True):
            n = data.get(key, least)
            if isinstance(n, bool) or not isinstance(n, int) or n < least:
                problems.append(f"{where}.{key}: must be an integer >= {least}, got {n!r}")
        for key in WORD_LISTS:
            v = data.get(key, [])
            if not isinstance(v, list) or not all(isinstance(w, str) and w.strip() for w in v):
                problems.append(f"{where}.{key}: must be a list of non-empty strings")
        if not problems and data.get("lowercase_all", cls.lowercase_all) + data.get(
                "uppercase_all", cls.uppercase_all) > 1:
            problems.append(f"{where}: lowercase_all + uppercase_all must not exceed 1")
        if problems:
            raise ConfigError(problems)
        for key in ("end_punctuation", "typo_kinds"):
            if key in data:
                data[key] = tuple((str(k), float(w)) for k, w in data[key].items())
        for key in WORD_LISTS:
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    @classmethod
    def off(cls) -> NoiseConfig:
        """No noise at all: the template text as realized."""
        return cls(lowercase_all=0, uppercase_all=0, capitalize_first=0, end_punctuation=(("keep", 1.0),),
                   typo=0, filler=0, entity_typo=0, strip_punctuation=0)

    def to_dict(self) -> dict[str, Any]:
        """The resolved values, YAML/JSON-friendly (for a dataset manifest)."""
        d = asdict(self)
        for key in ("end_punctuation", "typo_kinds"):
            d[key] = dict(d[key])
        for key in WORD_LISTS:
            d[key] = list(d[key])
        return d


def _weights_problems(value: Any, where: str, ok: Callable[[str], bool], allowed: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, Mapping) or not value:
        return [f"{where}: must be a mapping of choice -> weight"]
    out = [f"{where}: unknown choice '{k}'; use {allowed}" for k in value if not ok(str(k))]
    for k, w in value.items():
        if isinstance(w, bool) or not isinstance(w, int | float) or w < 0:
            out.append(f"{where}.{k}: weight must be a number >= 0, got {w!r}")
    if not out and sum(value.values()) <= 0:
        out.append(f"{where}: weights sum to 0; give at least one a positive weight")
    return out


def apply_noise(segments: Sequence[Segment], cfg: NoiseConfig, rng: random.Random,
                applied: list[str] | None = None,
                entity_ok: Callable[[str, str], bool] | None = None) -> list[Segment]:
    """Draw and apply this query's noise; the draws happen in a fixed order, so a seed fixes the result.
    `applied` (when given) collects the names of the transforms that changed the text, for the audit.
    `entity_ok(label, text)` (when given) vetoes an entity typo whose result it refuses; the draws are
    the same either way, so the rest of the query's noise does not move."""
    out = list(segments)

    def did(name: str, new: list[Segment]) -> list[Segment]:
        if applied is not None and new != out:
            applied.append(name)
        return new

    if rng.random() < cfg.filler:
        out = did("filler", add_filler(out, rng, start=cfg.fillers_start, end=cfg.fillers_end,
                                       start_share=cfg.filler_start_share))
    if rng.random() < cfg.typo:
        n = rng.randint(1, cfg.typo_max) if cfg.typo_max > 1 else 1
        out = did("typo", typo(out, rng, kinds=cfg.typo_kinds, min_letters=cfg.typo_min_letters, count=n))
    # New draws only when their knob is on, so a recipe without them keeps its old text.
    if cfg.entity_typo and rng.random() < cfg.entity_typo:
        new = typo(out, rng, kinds=cfg.typo_kinds, min_letters=cfg.typo_min_letters, only_entities=True)
        if entity_ok is not None and any(n != o and n[1] is not None and not entity_ok(n[1], n[0])
                                         for n, o in zip(new, out, strict=True)):
            new = out
        out = did("entity_typo", new)
    if cfg.disfluency and rng.random() < cfg.disfluency:
        count = rng.randint(1, cfg.disfluency_max)
        out = did("disfluency", disfluencies(out, rng, count=count, words=cfg.disfluencies,
                                             repeat_share=cfg.disfluency_repeat_share))
    if cfg.chatter and rng.random() < cfg.chatter:
        out = did("chatter", chatter(out, rng, before=cfg.chatter_before, after=cfg.chatter_after))
    out = end_punctuation(out, rng, choices=cfg.end_punctuation)
    if cfg.strip_punctuation and rng.random() < cfg.strip_punctuation:
        out = did("strip_punctuation", strip_punctuation(out, inside_entities=True, apostrophes=True))
    r = rng.random()
    if r < cfg.lowercase_all:
        out = did("lowercase_all", lowercase(out))
    elif r < cfg.lowercase_all + cfg.uppercase_all:
        out = did("uppercase_all", uppercase(out))
    if rng.random() < cfg.capitalize_first:
        out = capitalize_first(out)
    return out
