"""Exclusions: a seeded share of frames rules values out ("not a horror movie", "without Tom Cruise").

The recipe's `exclusions` section (ExclusionConfig) names the intents whose frames may carry them. For each
such frame one draw decides: with probability `share` it gets `per_query` exclusion clauses (drawn by weight
from synth/grammar/exclusions.yml, each with one slot whose value is ruled out), else with probability
`lookalike_share` one look-alike clause (a negative word that rules nothing out: "not sure what I want,"),
else none. The draw has its own random stream per frame, so turning exclusions on or off leaves every
other frame, and every wish value, as it was.

An excluded value comes from its slot's pool (heldout people for heldout frames, open pools for open
frames) and never clashes with the frame: it neither equals, contains nor is contained in another value
of the frame or a fact of its seed title (a seed's own genre or cast is never ruled out), for a closed
type it names no canonical value (schemas/lexicon.py) that a same-type value names ("rom-com" against
"romantic comedy"), and it names no decade that a same-type value names ("the 90s" against "1994").
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from schemas import ConfigError, Intent, Taxonomy, unknown_keys
from schemas.config import did_you_mean
from synth.pools import value_key
from synth.templates import Clause

KEYS = ("share", "intents", "per_query", "lookalike_share")
MAX_PER_QUERY = 4  # more ruled-out values than this in one query reads as a list, not a request
_DECADE_WORDS = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                 "seventies": 1970, "eighties": 1980, "nineties": 1990, "noughties": 2000,
                 "two thousands": 2000}
_YEAR = re.compile(r"\b(1[89]\d|20\d)\d(s)?\b")
_SHORT_DECADE = re.compile(r"\b(\d)0s\b")


@dataclass(frozen=True)
class ExclusionConfig:
    """The recipe's `exclusions` section."""

    share: float = 0.0  # share of eligible frames given excluded slots; 0 = off
    intents: tuple[str, ...] = ()
    per_query: tuple[int, int] = (1, 2)
    lookalike_share: float = 0.0  # share of eligible frames given a look-alike clause instead

    @property
    def on(self) -> bool:
        return self.share > 0 or self.lookalike_share > 0

    @classmethod
    def from_mapping(cls, data: Any, tax: Taxonomy, where: str = "exclusions") -> ExclusionConfig:
        """Check every key and value; all problems raised at once, one line each."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ConfigError([f"{where}: must be a mapping with {', '.join(KEYS)}, got {data!r}"])
        problems = unknown_keys(data, KEYS, where)
        share, look = data.get("share", 0.0), data.get("lookalike_share", 0.0)
        for key, v in (("share", share), ("lookalike_share", look)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                problems.append(f"{where}.{key}: must be a number in [0, 1], got {v!r}")
        if not problems and share + look > 1:
            problems.append(f"{where}: share + lookalike_share must be <= 1 (one draw per frame), got "
                            f"{share + look:g}")
        intents = data.get("intents", [])
        if not isinstance(intents, list) or not all(isinstance(i, str) for i in intents):
            problems.append(f"{where}.intents: must be a list of intent names, got {intents!r}")
            intents = []
        for name in intents:
            if name not in tax.intents:
                problems.append(f"{where}.intents: unknown intent '{name}'{did_you_mean(name, tax.intents)}; "
                                f"intents: {', '.join(tax.intent_names)}")
            elif tax.intents[name].rules.max_entities == 0:
                problems.append(f"{where}.intents: intent '{name}' allows no entities (taxonomy rule "
                                "max_entities: 0), so nothing can be ruled out")
        if len(set(intents)) != len(intents):
            problems.append(f"{where}.intents: lists an intent twice: {intents!r}")
        if (share or look) and not intents:
            problems.append(f"{where}.intents: name at least one intent when share or lookalike_share > 0")
        per = data.get("per_query", [1, 2])
        if not (isinstance(per, list) and len(per) == 2 and all(type(n) is int for n in per)
                and 1 <= per[0] <= per[1] <= MAX_PER_QUERY):
            problems.append(f"{where}.per_query: must be [min, max] with 1 <= min <= max <= {MAX_PER_QUERY}, "
                            f"got {per!r}")
        if problems:
            raise ConfigError(problems)
        return cls(float(share), tuple(intents), (per[0], per[1]), float(look))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {**d, "intents": list(self.intents), "per_query": list(self.per_query)}


def exclusion_config(cfg: Any) -> ExclusionConfig:
    """The recipe's exclusions as the frames use them: off unless the grammar backend writes the text,
    since clauses are grammar text and an LLM backend would be handed an excluded value as a wish
    (the manifest and `python -m synth` say so; see skipped_reason)."""
    ex = ExclusionConfig.from_mapping(cfg.exclusions, cfg.tax)
    return ex if cfg.backend == "grammar" else ExclusionConfig()


def skipped_reason(cfg: Any) -> str | None:
    """Why the recipe's exclusions are not applied, or None when they are (or are off anyway)."""
    if cfg.backend != "grammar" and ExclusionConfig.from_mapping(cfg.exclusions, cfg.tax).on:
        return (f"exclusions: not applied with backend {cfg.backend} (its clauses are grammar text); "
                "set exclusions.share and exclusions.lookalike_share to 0 in the recipe")
    return None


def decade(value: str) -> int | None:
    """The decade a year value names ("1994", "the late 80s", "the nineties" -> 1990s), or None."""
    v = value.lower()
    if m := _YEAR.search(v):
        return int(m.group(0)[:4]) // 10 * 10
    if m := _SHORT_DECADE.search(v):
        return 1900 + 10 * int(m.group(1)) if m.group(1) != "0" else 2000
    return next((d for word, d in _DECADE_WORDS.items() if word in v), None)


@lru_cache(maxsize=65536)
def _key(value: str) -> str:
    return f" {value_key(value)} "


class Excluder:
    """Which clauses a frame gets, and whether a value may be ruled out in it."""

    def __init__(self, cfg: ExclusionConfig, clauses: dict[bool, list[Clause]], tax: Taxonomy, seed: int):
        self.cfg, self.clauses, self.tax, self.seed = cfg, clauses, tax, seed
        self._eligible: dict[tuple[bool, str, str], list[Clause]] = {}

    def eligible(self, held: bool, intent: Intent, kind: str) -> list[Clause]:
        key = (held, intent.name, kind)
        if key not in self._eligible:
            self._eligible[key] = [c for c in self.clauses[held] if c.kind == kind and c.fits(intent)]
        return self._eligible[key]

    def pick(self, frame_id: str, intent: Intent, held: bool, n_slots: int) -> list[Clause]:
        """The clauses of one frame: exclusions (distinct, by weight), one look-alike, or none."""
        if intent.name not in self.cfg.intents:
            return []
        rng = random.Random(f"{self.seed}:exclusions:{frame_id}")
        u = rng.random()
        if u < self.cfg.share:
            pool = list(self.eligible(held, intent, "exclusion"))
            k = rng.randint(*self.cfg.per_query)
            if intent.rules.max_entities is not None:
                k = min(k, intent.rules.max_entities - n_slots)
            picked: list[Clause] = []
            while pool and len(picked) < k:
                c = rng.choices(pool, [c.weight for c in pool])[0]
                pool.remove(c)
                picked.append(c)
            return picked
        if u < self.cfg.share + self.cfg.lookalike_share:
            pool = self.eligible(held, intent, "lookalike")
            return [rng.choices(pool, [c.weight for c in pool])[0]] if pool else []
        return []

    def clashes(self, etype: str, value: str, others: list[tuple[str, str]]) -> bool:
        """True when ruling `value` out would contradict a value of the frame or a seed fact
        (`others`: (type, value) pairs)."""
        key = _key(value)
        if any(key in _key(o) or _key(o) in key for _, o in others if value_key(o)):
            return True
        lex = self.tax.closed_types.get(etype)
        same = [o for t, o in others if t == etype]
        if lex is not None and same:
            canon = lex.canonical(value)
            if canon is not None and any(lex.canonical(o) == canon for o in same):
                return True
        # "the 1990s" against "the late 90s" or "1994": same-type values naming one decade
        if same and (d := decade(value)) is not None:
            return any(decade(o) == d for o in same)
        return False
