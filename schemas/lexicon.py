"""Lexicons of closed entity types: which spans may carry a type, and the canonical value each names.

A closed type (media_type, language, platform, audience, year, genre) names its lexicon in
schemas/taxonomy.yaml (`lexicon: lexicons/<type>.yaml`). A lexicon accepts a span when, ignoring case
and curly apostrophes, it is

- one of its `values` (canonical value -> surface forms): "tv show" -> series;
- up to `max_qualifier_words` words followed by one of its `heads` (canonical -> forms), longest form
  first: "dark british comedy" -> comedy, "a date night" -> date;
- a whole-span match of one of its `patterns` (regexes; the canonical value is the span itself):
  "the late 80s", "1994".

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
_SPACE = re.compile(r"\s+")


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
        return None

    def accepts(self, span: str) -> bool:
        return self.canonical(span) is not None

    def may_end(self, word: str) -> bool:
        """False when no accepted span can end with `word`: a cheap filter before `accepts`."""
        return bool(self.patterns) or fold(word) in self._last_words

    @property
    def _last_words(self) -> frozenset[str]:
        cached = self.__dict__.get("_ends")
        if cached is None:
            cached = frozenset(k.rsplit(" ", 1)[-1] for k in (*self.values, *self.heads))
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
