"""Frames: an intent, a template and entity values drawn from the knowledge graph, before any text.

Values come from a seed title where it has them (so a query's genre, plot and setting belong together)
and from a rotation over the pool otherwise. With the `heldout` strategy, templates, title franchises and
the people of those titles are partitioned up front so heldout frames never share them with the rest.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from schemas import ConfigError
from synth.config import DataConfig
from synth.grammar import Grammar, Template
from synth.kg import KnowledgeGraph, TitleFacts, franchise_key
from synth.rotation import Rotation
from synth.types import Frame, Slot

PEOPLE_POOLS = ("actor", "director", "character")
HELDOUT = "heldout"


def title_values(t: TitleFacts, pool: str) -> list[str]:
    """Values a seed title offers for a pool; empty when the title says nothing about it."""
    if pool == "title":
        return [t.title]
    if pool == "actor":
        return [c["actor"] for c in t.cast]
    if pool == "character":
        return [c["character"] for c in t.cast if c.get("character")]
    if pool == "year":
        decade = t.year // 10 * 10
        return [str(t.year), f"the {decade}s", f"the {decade % 100:02d}s"]
    if pool == "language":
        return [t.language] if t.language and t.language != "unknown" else []
    attr = {"director": "directors", "genre": "genres", "mood": "moods", "theme": "themes",
            "plot": "plot", "setting": "settings", "media_type": "media_type"}.get(pool)
    if attr is None:
        return []
    v = getattr(t, attr)
    return [v] if isinstance(v, str) else list(v)


@dataclass
class Partition:
    """What each side may use, keyed by "is heldout"; with the random strategy both sides get everything."""

    titles: dict[bool, list[TitleFacts]]
    people: dict[bool, set[str]]
    templates: dict[bool, dict[str, list[Template]]]


def partition(kg: KnowledgeGraph, grammar: Grammar, cfg: DataConfig, rng: random.Random) -> Partition:
    intents = list(cfg.intents)
    if cfg.split.strategy != "heldout":
        every = {i: grammar.for_intent(i) for i in intents}
        people = {v for t in kg.titles for p in PEOPLE_POOLS for v in title_values(t, p)}
        return Partition({False: kg.titles, True: kg.titles}, {False: people, True: people},
                         {False: every, True: every})
    # Partition franchises, not titles: a sequel (Blade Runner 2049) or a remake that shares its name
    # would otherwise put half of what a heldout query names into train (synth.kg.franchise_key).
    groups = sorted({franchise_key(t) for t in kg.titles})
    rng.shuffle(groups)
    n_held = reserved(len(groups), round(len(groups) * cfg.split.heldout_entities),
                      "split.heldout_entities", "title franchises")
    held_groups = set(groups[:n_held])
    held = [t for t in kg.titles if franchise_key(t) in held_groups]
    kept = [t for t in kg.titles if franchise_key(t) not in held_groups]
    names = lambda ts: {v for t in ts for p in PEOPLE_POOLS for v in title_values(t, p)}  # noqa: E731
    lower = lambda vs: {v.lower() for v in vs}  # noqa: E731
    held_titles, kept_titles = lower(t.title for t in held), lower(t.title for t in kept)
    # A name is one string whatever its role ("Dallas" is a series and a character in Alien): keep the
    # halves disjoint as strings. A person in both halves stays with train, so heldout frames only name
    # unseen people, and neither side names a person who shares a title's name on the other side.
    kept_people = {v for v in names(kept) if v.lower() not in held_titles}
    taken = lower(kept_people) | kept_titles
    held_people = {v for v in names(held) if v.lower() not in taken}
    templates: dict[bool, dict[str, list[Template]]] = {False: {}, True: {}}
    for intent in intents:
        tpls = sorted(grammar.for_intent(intent), key=lambda t: t.id)
        rng.shuffle(tpls)
        h = reserved(len(tpls), math.ceil(len(tpls) * cfg.split.heldout_templates),
                     "split.heldout_templates", f"templates of intent '{intent}'")
        templates[True][intent], templates[False][intent] = tpls[:h], tpls[h:]
    return Partition({False: kept, True: held}, {False: kept_people, True: held_people}, templates)


def reserved(total: int, wanted: int, key: str, what: str) -> int:
    """How many of `total` items heldout gets: `wanted` (the rounded share), but never none and never all.

    The share itself is range-checked at load (0 < share < 1); rounding may still reach 0 or `total`, and
    a side without items would have to borrow the other's, the very leak the heldout split rules out.
    Too few items to split is an error, never a silent fallback to sharing them.
    """
    if total < 2:
        raise ConfigError([f"{key}: only {total} {what}; the heldout strategy needs at least 2 to keep "
                           "one on each side (add some or use split.strategy random)"])
    return min(total - 1, max(1, wanted))


class FrameSampler:
    """Draws frames round after round; rotations persist so values keep cycling across rounds."""

    def __init__(self, kg: KnowledgeGraph, grammar: Grammar, cfg: DataConfig):
        self.kg, self.grammar, self.cfg = kg, grammar, cfg
        self.part = partition(kg, grammar, cfg, random.Random(f"{cfg.seed}:partition"))
        self._rot: dict[tuple[bool, str], Rotation] = {}
        self._title_rot = {h: Rotation(self.part.titles[h], random.Random(f"{cfg.seed}:titles:{h}"))
                           for h in (False, True)}

    def _rotation(self, held: bool, pool: str) -> Rotation:
        key = (held, pool) if pool in PEOPLE_POOLS or pool == "title" else (False, pool)
        if key not in self._rot:
            if pool == "title":
                items = sorted({t.title for t in self.part.titles[held]})
            elif pool in PEOPLE_POOLS:
                items = sorted(set(self.kg.pools.get(pool, [])) & self.part.people[held])
            else:
                items = list(self.kg.pools.get(pool, []))
            self._rot[key] = Rotation(items, random.Random(f"{self.cfg.seed}:pool:{pool}:{held}"))
        return self._rot[key]

    def _allowed(self, held: bool, pool: str, value: str) -> bool:
        if pool in PEOPLE_POOLS:
            return value in self.part.people[held]
        return True

    def _values(self, template: Template, seed: TitleFacts | None, held: bool,
                rng: random.Random) -> list[Slot]:
        used: set[str] = set()
        slots = []
        for spec in template.slots:
            offered = [] if seed is None else title_values(seed, spec.pool)
            offered = [v for v in offered if v not in used and self._allowed(held, spec.pool, v)]
            # A second slot of a pool (title2, actor2) falls through to the rotation.
            value = rng.choice(offered) if offered else self._rotation(held, spec.pool).next(avoid=used)
            used.add(value)
            slots.append(Slot(name=spec.name, type=spec.type, value=value))
        return slots

    def sample(self, counts: dict[str, dict[str, int]], round_idx: int) -> Iterator[Frame]:
        """`counts[intent][split]` frames each; ids are stable for a given seed, round and order."""
        rng = random.Random(f"{self.cfg.seed}:frames:{round_idx}")
        i = 0
        for intent, per_split in counts.items():
            for split, k in per_split.items():
                held = split == HELDOUT
                pool = self.part.templates[held][intent]
                weights = [t.weight for t in pool]
                for _ in range(k):
                    template = rng.choices(pool, weights)[0]
                    seed = self._title_rot[held].next() if template.slots else None
                    slots = self._values(template, seed, held, rng)
                    yield Frame(id=f"r{round_idx}-{i:06d}", intent=intent, template_id=template.id,
                                slots=tuple(slots), split=split, seed_title=seed.title if seed else None)
                    i += 1


def split_counts(total: int, cfg: DataConfig) -> dict[str, int]:
    """Exact per-split counts for `total` frames (largest remainder), in a fixed split order."""
    s = cfg.split
    shares = {"validation": s.validation, "test": s.test}
    if s.strategy == "heldout":
        shares[HELDOUT] = s.heldout
    shares = {"train": 1 - sum(shares.values()), **shares}
    return largest_remainder(total, shares)


def largest_remainder(total: int, shares: dict[str, float]) -> dict[str, int]:
    norm = sum(shares.values()) or 1.0
    raw = {k: total * v / norm for k, v in shares.items()}
    out = {k: math.floor(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], k))[: total - sum(out.values())]:
        out[k] += 1
    return out
