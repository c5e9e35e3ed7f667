"""Lexicons of closed entity types: which spans may carry a type, and the canonical value each names.

A closed type (media_type, language, platform, audience, year, genre) names its lexicon in
schemas/taxonomy.yaml (`lexicon: lexicons/<type>.yaml`). A lexicon accepts a span when, ignoring case
and curly apostrophes, it is

- one of its `values` (canonical value -> surface forms): "tv show" -> series;
- up to `max_qualifier_words` words followed by one of its `heads` (canonical -> forms), longest form
  first: "dark british comedy" -> comedy, "a date night" -> date;
- a whole-span match of one of its `patterns` (regexes; the canonical value is the span itself):
  "the late 80s", "1994";
- one of the above values or heads with a typo: one word of at least FUZZY_MIN_CHARS letters one edit away
  (a letter added, dropped, changed, or two swapped): "mofie" -> movie, "romantic commedy" -> romance.
  People type that way, and search still gets the canonical value.

Grounded decoding (decoding/grounded.py) offers a closed type only the spans its lexicon accepts, and the
parser reports `canonical` beside the value so search compares like with like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.config import ConfigError, load_yaml, unknown_keys

LEXICON_KEYS = ("values", "heads", "patterns", "max_qualifier_words")
FUZZY_MIN_CHARS = 5  # shorter words are too close to other words to forgive a typo ("drama" / "dream")
_SPACE = re.compile(r"\s+")


def _near(word: str) -> set[str]:
    """The word and every form of it with one letter dropped: two words one edit apart (insertion,
    deletion, substitution or transposition) share a member of these sets."""
    return {word} | {word[:i] + word[i + 1:] for i in range(len(word))}


def fuzzy_keys(words: list[str]) -> set[str]:
    """Keys under which a phrase is found when one of its long words carries one typo."""
    return {" ".join([*words[:j], "~" + v, *words[j + 1:]])
            for j, w in enumerate(words) if len(w) >= FUZZY_MIN_CHARS for v in _near(w)}


def fold(text: str) -> str:
    """Case, curly apostrophes and runs of spaces folded: the form lexicon lookups compare."""
    return _SPACE.sub(" ", text.replace("\u2019", "'").replace("\u2018", "'").strip()).casefold()


@dataclass(frozen=True)
class Lexicon:
    type: str
    path: str
    values: dict[str, str] = field(default_factory=dict)   # folded form -> canonical
    heads: dict[str, str] = field(default_factory=dict)    # folded form -> canonical
    patterns: tuple[re.Pattern[str], ...] = ()
    max_qualifier_words: int = 0

    def canonical(self, span: str) -> str | None:
        """The canonical value `span` names, or None when the lexicon does not accept it."""
        key = fold(span)
        if not key:
            return None
        if key in self.values:
            return self.values[key]
        words = key.split(" ")
        # longest head first: "romantic comedy" names romance before "comedy" names comedy
        for n in range(len(words), 0, -1):
            head = " ".join(words[-n:])
            if head in self.heads and len(words) - n <= self.max_qualifier_words:
                return self.heads[head]
        if any(p.fullmatch(key) for p in self.patterns):
            return span.strip()
        return self._typo(words)

    def _typo(self, words: list[str]) -> str | None:
        values, heads = self._fuzzy
        for key in fuzzy_keys(words):
            if key in values:
                return values[key]
        for n in range(len(words), max(0, len(words) - self.max_qualifier_words - 1), -1):
            for key in fuzzy_keys(words[-n:]):
                if key in heads:
                    return heads[key]
        return None

    @property
    def _fuzzy(self) -> tuple[dict[str, str], dict[str, str]]:
        """fuzzy_keys of every value and head form -> its canonical value, built on first use."""
        cached = self.__dict__.get("_fuzzy_index")
        if cached is None:
            cached = tuple({k: canon for form, canon in forms.items() for k in fuzzy_keys(form.split(" "))}
                           for forms in (self.values, self.heads))
            object.__setattr__(self, "_fuzzy_index", cached)
        return cached

    def accepts(self, span: str) -> bool:
        return self.canonical(span) is not None

    def may_end(self, word: str) -> bool:
        """False when no accepted span can end with `word` (typos included): a cheap filter before
        `accepts`."""
        if self.patterns:
            return True
        word = fold(word)
        ends = self._last_words
        return word in ends or (len(word) >= FUZZY_MIN_CHARS - 1 and bool(_near(word) & ends))

    @property
    def _last_words(self) -> frozenset[str]:
        """Last words of every form, and their one-letter-dropped forms (so a typo'd last word passes)."""
        cached = self.__dict__.get("_ends")
        if cached is None:
            last = {k.rsplit(" ", 1)[-1] for k in (*self.values, *self.heads)}
            cached = frozenset(v for w in last for v in (_near(w) if len(w) >= FUZZY_MIN_CHARS else {w}))
            object.__setattr__(self, "_ends", cached)
        return cached

    @property
    def max_words(self) -> int:
        """The most words an accepted span can have: the longest form plus qualifiers (patterns: +4)."""
        cached = self.__dict__.get("_max_words")
        if cached is None:
            longest = max((len(k.split(" ")) for k in (*self.values, *self.heads)), default=1)
            cached = longest + self.max_qualifier_words + (4 if self.patterns else 0)
            object.__setattr__(self, "_max_words", cached)
        return cached


def _forms(raw: Any, where: str, problems: list[str]) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping of canonical value -> list of surface forms")
        return {}
    out: dict[str, str] = {}
    for canonical, forms in raw.items():
        if not isinstance(forms, list) or not all(isinstance(f, str | int) and str(f).strip() for f in forms):
            problems.append(f"{where}.{canonical}: must be a non-empty list of surface forms")
            continue
        for form in [canonical, *forms]:
            out.setdefault(fold(str(form)), str(canonical))
    return out


def load_lexicon(path: str | Path, etype: str) -> Lexicon:
    """A lexicon file, checked strictly: unknown keys, bad forms and bad regexes, all reported at once."""
    raw = load_yaml(path) or {}
    where = str(path)
    problems = unknown_keys(raw, LEXICON_KEYS, where)
    values = _forms(raw.get("values"), f"{where}: values", problems)
    heads = _forms(raw.get("heads"), f"{where}: heads", problems)
    patterns = []
    for i, p in enumerate(raw.get("patterns") or []):
        try:
            patterns.append(re.compile(str(p), re.IGNORECASE))
        except re.error as exc:
            problems.append(f"{where}: patterns[{i}]: not a regex ({exc})")
    q = raw.get("max_qualifier_words", 0)
    if isinstance(q, bool) or not isinstance(q, int) or q < 0:
        problems.append(f"{where}: max_qualifier_words: must be an integer >= 0, got {q!r}")
        q = 0
    if not (values or heads or patterns):
        problems.append(f"{where}: accepts nothing; give values, heads or patterns")
    if problems:
        raise ConfigError(problems)
    return Lexicon(etype, where, values, heads, tuple(patterns), q)
