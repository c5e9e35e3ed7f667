"""Which entity values of a query the user rules out, read from English negation cues.

A trigger ("not", "without", "don't", "anything but") opens a scope that runs to the end of its clause
(punctuation, or a word such as "but", "so", "can" that starts a new one). An entity is ruled out when
its first word lies in a scope, or when a negated "is" follows it ("as long as Tom Cruise isn't in it").
Triggers inside another entity's span ("No Country for Old Men") open nothing. The word lists live in
schemas/negation.yaml, named by the taxonomy's `exclusion.cues`.

    cues = load_negation()
    cues.ruled_out("not a horror movie please, something romantic", [(6, 12), (37, 45)])  # [True, False]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from schemas.config import ConfigError, load_yaml, unknown_keys

DEFAULT_NEGATION = Path(__file__).with_name("negation.yaml")
_KEYS = ("triggers", "contracted", "phrases", "not_before", "not_after", "clause_ends", "after_value")
_WORD = re.compile(r"\S+")
_CLAUSE_PUNCT = ",.;:!?"
_EDGE_PUNCT = "\"'()[]{}" + _CLAUSE_PUNCT


def _norm(word: str) -> str:
    return word.lower().replace("\u2019", "'").strip(_EDGE_PUNCT)


@dataclass(frozen=True)
class Negation:
    triggers: frozenset[str]
    contracted: re.Pattern[str]
    phrases: tuple[tuple[str, ...], ...]
    not_before: frozenset[str]
    not_after: frozenset[str]
    clause_ends: frozenset[str]
    after_value: tuple[tuple[str, ...], ...]
    path: str = str(DEFAULT_NEGATION)

    def _trigger_length(self, words: Sequence[str], i: int) -> int:
        """How many words the trigger starting at word i spans (0: none there)."""
        size = next((len(p) for p in self.phrases if tuple(words[i:i + len(p)]) == p), 0)
        if not size and (words[i] in self.triggers or self.contracted.fullmatch(words[i])):
            size = 1
        if not size:
            return 0
        after = words[i + size] if i + size < len(words) else ""
        before = words[i - 1] if i > 0 else ""
        return 0 if after in self.not_before or before in self.not_after else size

    def scope(self, query: str, spans: Sequence[tuple[int, int]] = ()) -> list[tuple[int, bool]]:
        """(offset, negated) for each word of `query`; `spans` are the entities' character spans, whose
        words never trigger."""
        matches = list(_WORD.finditer(query))
        words = [_norm(m.group()) for m in matches]
        out: list[tuple[int, bool]] = []
        active, skip = False, 0  # inside a scope; words left of the trigger phrase that opened it
        for i, m in enumerate(matches):
            inside = any(a <= m.start() < b for a, b in spans)
            size = 0 if inside or skip else self._trigger_length(words, i)
            if skip:
                skip -= 1
            elif not size and words[i] in self.clause_ends:
                active = False
            out.append((m.start(), active and not size))
            if size:
                active, skip = True, size - 1
            if m.group().rstrip("\"')]}")[-1:] in _CLAUSE_PUNCT:
                active = False
        return out

    def ruled_out(self, query: str, spans: Sequence[tuple[int, int]]) -> list[bool]:
        """For each (start, end) character span of an entity in `query`: whether the user rules it out."""
        scope = self.scope(query, spans)
        starts = [s for s, _ in scope]
        out = []
        for start, end in spans:
            first = max((k for k, s in enumerate(starts) if s <= start), default=None)
            negated = first is not None and scope[first][1]
            following = tuple(_norm(w) for w in query[end:].split()[:2])
            out.append(negated or any(following[:len(p)] == p for p in self.after_value))
        return out


def load_negation(path: str | Path = DEFAULT_NEGATION) -> Negation:
    """schemas/negation.yaml (or another file of the same keys); one-line ConfigErrors otherwise."""
    path = Path(path)
    raw = load_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError([f"{path}: must be a mapping of {', '.join(_KEYS)}"])
    problems = unknown_keys(raw, _KEYS, str(path))
    lists: dict[str, list[str]] = {}
    for key in _KEYS:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            problems.append(f"{path}: {key}: must be a list of words or phrases")
            value = []
        lists[key] = [_norm(v) if " " not in v.strip() else " ".join(_norm(w) for w in v.split())
                      for v in value]
    if problems:
        raise ConfigError(problems)
    aux = "|".join(re.escape(a) for a in lists["contracted"]) or "(?!)"
    split = lambda key: tuple(tuple(p.split()) for p in lists[key])  # noqa: E731
    return Negation(
        triggers=frozenset(lists["triggers"]),
        contracted=re.compile(rf"(?:{aux})n'?t"),
        phrases=tuple(sorted(split("phrases"), key=len, reverse=True)),
        not_before=frozenset(lists["not_before"]),
        not_after=frozenset(lists["not_after"]),
        clause_ends=frozenset(lists["clause_ends"]),
        after_value=split("after_value"),
        path=str(path),
    )
