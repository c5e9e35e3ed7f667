"""Frames: an intent, a template and entity values drawn from the knowledge graph, before any text.

Values come from a seed title where it has them (so a query's genre, plot and setting belong together)
and from a rotation over the pool otherwise. With the `heldout` strategy, templates, title franchises and
the people of those titles are partitioned up front so heldout frames never share them with the rest.

An *open* frame (a share of frames set by the recipe's `open_pools.share`) takes every title and person
slot from the open pools (synth/pools.py) instead: made-up names cannot contradict a fact, and no KG
value is then paired with a wrong KG value, so KG frames keep their facts consistent. Slot forms
(`{plot:clause}`, `{genre:phrase}`) always draw from their open pool; `bare` drops a leading article,
`name` a character's leading role title.

Exclusion and look-alike clauses (synth/exclusions.py) are dealt to heldout like templates, and a frame's
excluded slots sit before or after its template slots, in query order.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from schemas import ConfigError
from synth.config import DataConfig
from synth.exclusions import Excluder, ExclusionConfig, exclusion_config
from synth.kg import KnowledgeGraph, TitleFacts, franchise_key
from synth.pools import OPEN_POOLS, OpenPoolConfig, OpenPools, build_open_pools, load_words
from synth.rotation import Rotation
from synth.templates import Clause, Grammar, SlotSpec, Template
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
        return year_forms(t.year)
    if pool == "language":
        return [t.language] if t.language and t.language != "unknown" else []
    attr = {"director": "directors", "genre": "genres", "mood": "moods", "theme": "themes",
            "plot": "plot", "setting": "settings", "media_type": "media_type"}.get(pool)
    if attr is None:
        return []
    v = getattr(t, attr)
    return [v] if isinstance(v, str) else list(v)


_DECADE_WORDS = {1920: "twenties", 1930: "thirties", 1940: "forties", 1950: "fifties", 1960: "sixties",
                 1970: "seventies", 1980: "eighties", 1990: "nineties"}


def year_forms(year: int) -> list[str]:
    """The ways people say a title's year or era: "1987", "the 1980s", "the 80s", "the eighties",
    "the late 80s", "the late 1980s"."""
    decade = year // 10 * 10
    part = "early" if year % 10 <= 3 else "mid" if year % 10 <= 6 else "late"
    if decade >= 2000:  # nobody says "the 10s": the short forms are for the last century
        return [str(year), f"the {decade}s", f"the {part} {decade}s"] + (
            ["the two thousands"] if decade == 2000 else [])
    out = [str(year), f"the {decade}s", f"the {decade % 100:02d}s", f"the {part} {decade % 100:02d}s",
           f"the {part} {decade}s"]
    if decade in _DECADE_WORDS:
        out.append(f"the {_DECADE_WORDS[decade]}")
    return out


def shape(value: str, form: str, role_titles: frozenset[str] = frozenset()) -> str:
    """A value in a slot's form; `bare` drops a leading "the " ("the 1990s" -> "1990s"), `name` a leading
    role title when a name follows ("Captain Jack Sparrow" -> "Jack Sparrow"; `role_titles` lowercase)."""
    if form == "bare" and value.lower().startswith("the ") and len(value) > 4:
        return value[4:]
    if form == "name":
        first, _, rest = value.partition(" ")
        if rest and first.lower() in role_titles:
            return rest
    return value


@dataclass
class Partition:
    """What each side may use, keyed by "is heldout"; with the random strategy both sides get everything."""

    titles: dict[bool, list[TitleFacts]]
    people: dict[bool, set[str]]
    templates: dict[bool, dict[str, list[Template]]]
    clauses: dict[bool, list[Clause]] = field(default_factory=lambda: {False: [], True: []})


def hash_unit(key: str) -> float:
    """A number in [0, 1) fixed by `key` alone (stable across Python runs, unlike hash())."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def hash_split(keys: list[str], share: float, salt: str, cfg_key: str, what: str) -> set[str]:
    """The keys that go to heldout: those whose hash_unit(salt:key) < share, so each key's side depends on
    itself alone. The count is then `share` of the keys only on average (binomial); never none and
    never all, for the reason `reserved` gives."""
    unit = {k: hash_unit(f"{salt}:{k}") for k in keys}
    ranked = sorted(keys, key=unit.__getitem__)  # those under `share` are a prefix of this order
    return set(ranked[:reserved(len(keys), sum(u < share for u in unit.values()), cfg_key, what)])


def partition(kg: KnowledgeGraph, grammar: Grammar, cfg: DataConfig) -> Partition:
    """Which titles, people and templates each side may use, fixed by the data seed.

    Each template and franchise goes to heldout by a hash of (seed, its id), not by a seeded shuffle of
    the whole list: adding a template or a title then never moves the others across sides, so a run on
    the previous grammar and one on the next share most of their heldout templates (with a shuffle, 22
    templates added re-dealt the split: 62 of 112 heldout templates stayed heldout).
    """
    intents = list(cfg.intents)
    clauses = _clauses_in_use(grammar, exclusion_config(cfg))
    if cfg.split.strategy != "heldout":
        every = {i: grammar.for_intent(i) for i in intents}
        people = {v for t in kg.titles for p in PEOPLE_POOLS for v in title_values(t, p)}
        return Partition({False: kg.titles, True: kg.titles}, {False: people, True: people},
                         {False: every, True: every}, {False: clauses, True: clauses})
    # Partition franchises, not titles: a sequel (Blade Runner 2049) or a remake that shares its name
    # would otherwise put half of what a heldout query names into train (synth.kg.franchise_key).
    held_groups = hash_split(sorted({franchise_key(t) for t in kg.titles}), cfg.split.heldout_entities,
                             f"{cfg.seed}:franchise", "split.heldout_entities", "title franchises")
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
        held_ids = hash_split([t.id for t in tpls], cfg.split.heldout_templates, f"{cfg.seed}:template",
                              "split.heldout_templates", f"templates of intent '{intent}'")
        for h in (True, False):
            templates[h][intent] = [t for t in tpls if (t.id in held_ids) == h]
    if cfg.split.heldout_templates_per_type:
        cover_pools(templates, cfg.split.heldout_templates_per_type, f"{cfg.seed}:cover")
    return Partition({False: kept, True: held}, {False: kept_people, True: held_people}, templates,
                     deal_clauses(clauses, cfg))


def _clauses_in_use(grammar: Grammar, ex: ExclusionConfig) -> list[Clause]:
    """The grammar's clauses of the kinds the recipe turns on (an unused kind is never dealt)."""
    kinds = {"exclusion"} if ex.share > 0 else set()
    kinds |= {"lookalike"} if ex.lookalike_share > 0 else set()
    return sorted((c for c in grammar.clauses.values() if c.kind in kinds), key=lambda c: c.id)


def deal_clauses(clauses: list[Clause], cfg: DataConfig) -> dict[bool, list[Clause]]:
    """Clauses to each side by the templates' hash and odds (split.heldout_templates), so heldout holds
    exclusion phrasings that train never has. Exclusions are dealt within each excluded type and look-alikes
    within each list of intents, so both sides can rule out every type and both sides of every intent get
    look-alikes (a group of a single clause is an error under the heldout strategy)."""
    groups: dict[tuple[str, str], list[Clause]] = {}
    for c in clauses:
        groups.setdefault((c.kind, c.slot.type if c.slot else ",".join(c.intents)), []).append(c)
    held: set[str] = set()
    for (kind, group_key), group in sorted(groups.items()):
        what = f"{kind} clauses " + (f"of type '{group_key}'" if kind == "exclusion" else
                                     f"for intents [{group_key}]")
        held |= hash_split([c.id for c in group], cfg.split.heldout_templates, f"{cfg.seed}:template",
                           "split.heldout_templates", what)
    return {h: [c for c in clauses if (c.id in held) == h] for h in (False, True)}


def pools_of(template: Template) -> set[str]:
    return {s.pool for s in template.slots}


def cover_pools(templates: dict[bool, dict[str, list[Template]]], k: int, salt: str) -> list[str]:
    """Move train templates to heldout until every slot pool is named by at least `k` heldout templates;
    returns the ids moved, in order.

    The per-intent draw leaves rare types on a few heldout templates (2 for directors, 3 for characters
    with the default grammar), so their heldout F1 says which templates were drawn more than how the model
    does (eval/uncertainty.py measures that). A pool never gives heldout more than half of its templates,
    no move leaves another pool of the template without a train template, and no intent keeps fewer than
    one train template: a pool short of templates keeps fewer than `k` rather than leak.
    """
    moved: list[str] = []
    # Composition variants share their head and clauses, so they neither count towards `k` nor move:
    # adding a composition leaves the written templates' partition as it was.
    total = Counter(p for side in templates.values() for ts in side.values() for t in ts if not t.composition
                    for p in pools_of(t))
    held = Counter(p for ts in templates[True].values() for t in ts if not t.composition for p in pools_of(t))
    for pool in sorted(total):
        # in hash order, so a template added elsewhere does not change which ones move
        candidates = sorted((t for ts in templates[False].values() for t in ts
                             if pool in pools_of(t) and not t.composition),
                            key=lambda t: hash_unit(f"{salt}:{t.id}"))
        for t in candidates:
            if held[pool] >= k:
                break
            # a template names several pools: none of them may pass half, or lose its last train template
            if any(2 * (held[q] + 1) > total[q] for q in pools_of(t)):
                continue
            kept = templates[False][t.intent]
            others = {q for ts in templates[False].values() for u in ts if u is not t for q in pools_of(u)}
            if len(kept) < 2 or not pools_of(t) <= others:
                continue
            kept.remove(t)
            templates[True][t.intent].append(t)
            held.update(pools_of(t))
            moved.append(t.id)
    return moved


def reserved(total: int, wanted: int, key: str, what: str) -> int:
    """How many of `total` items heldout gets: `wanted` (what the share picks), but never none or all.

    The share itself is range-checked at load (0 < share < 1); the draw may still give 0 or `total`, and
    a side without items would have to borrow the other's, the very leak the heldout split rules out.
    Too few items to split is an error, never a silent fallback to sharing them.
    """
    if total < 2:
        raise ConfigError([f"{key}: only {total} {what}; the heldout strategy needs at least 2 to keep "
                           "one on each side (add some or use split.strategy random)"])
    return min(total - 1, max(1, wanted))


def expected_shares(pools: dict[str, list[Template]], intents: dict[str, float],
                    factors: dict[str, float]) -> dict[str, float]:
    """Expected share of records naming each entity type when each intent's templates are drawn by
    weight x factor and intents keep their shares (the pipeline trims every intent to its quota)."""
    out: Counter[str] = Counter()
    for intent, share in intents.items():
        pool = pools.get(intent, [])
        weights = {t.id: t.weight * factors.get(t.id, 1.0) for t in pool}
        total = sum(weights.values())
        for t in pool if total else []:
            for etype in {s.type for s in t.slots}:
                out[etype] += share * weights[t.id] / total
    return dict(out)


def fit_template_weights(pools: dict[str, list[Template]], intents: dict[str, float],
                         targets: dict[str, float], rounds: int = 200, max_factor: float = 20.0
                         ) -> dict[str, float]:
    """Weight factors per template id that lift each entity type's expected share to its target.

    Multiplicative updates: each round, every template naming a type below its target is weighted up by
    target / expected (at most 2x per round, `max_factor` in all, so no template swamps its intent).
    Raising one type lowers the others of the same intents, so rounds repeat until every target is met
    or nothing moves; a target the templates cannot reach stays short and balance_report warns of it.
    """
    factors: dict[str, float] = {}
    for _ in range(rounds):
        shares = expected_shares(pools, intents, factors)
        short = {e: min(2.0, target / shares[e]) for e, target in targets.items()
                 if shares.get(e, 0.0) > 0 and shares[e] < target * 0.999}
        if not short:
            break
        moved = False
        for t in (t for pool in pools.values() for t in pool):
            step = max((short[s.type] for s in t.slots if s.type in short), default=1.0)
            new = min(max_factor, factors.get(t.id, 1.0) * step)
            if new > factors.get(t.id, 1.0):
                factors[t.id], moved = new, True
        if not moved:
            break
    return factors


class FrameSampler:
    """Draws frames round after round; rotations persist so values keep cycling across rounds."""

    def __init__(self, kg: KnowledgeGraph, grammar: Grammar, cfg: DataConfig):
        self.kg, self.grammar, self.cfg = kg, grammar, cfg
        self.part = partition(kg, grammar, cfg)
        self._rot: dict[tuple[bool, str], Rotation] = {}
        self._title_rot = {h: Rotation(self.part.titles[h], random.Random(f"{cfg.seed}:titles:{h}"))
                           for h in (False, True)}
        self.open_cfg = OpenPoolConfig.from_mapping(cfg.open_pools)
        self.open = self._open_pools() if self._needs_open() else None
        self._open_rot: dict[tuple[bool, str], Rotation] = {}
        self.exclusions = exclusion_config(cfg)
        self.excluder = Excluder(self.exclusions, self.part.clauses, cfg.tax, cfg.seed)
        self._check_clauses()
        forms = {s.form for t in grammar.templates.values() for s in t.slots}
        forms |= {c.slot.form for c in grammar.clauses.values() if c.slot is not None}
        # `name` drops the role titles the open character pool puts before names ("Captain", "Dr.")
        self.role_titles = frozenset(w.lower() for w in load_words(self.open_cfg.words)["character_titles"]) \
            if "name" in forms else frozenset()
        # entity_targets_mode fit: each side's template weights are raised until the targets are met in
        # expectation; warn (the default) leaves the grammar's weights, and the targets only reported.
        self.weight_factors: dict[bool, dict[str, float]] = {False: {}, True: {}}
        if cfg.entity_targets_mode == "fit":
            self.weight_factors = {h: fit_template_weights(self.part.templates[h], cfg.intents,
                                                           cfg.entity_targets) for h in (False, True)}

    def fit_summary(self) -> dict[str, Any] | None:
        """For the manifest: expected entity shares of train frames before and after the fit."""
        if self.cfg.entity_targets_mode != "fit":
            return None
        pools, intents = self.part.templates[False], self.cfg.intents
        before = expected_shares(pools, intents, {})
        after = expected_shares(pools, intents, self.weight_factors[False])
        return {"templates_weighted_up": {("heldout" if h else "train"): len(f)
                                          for h, f in self.weight_factors.items()},
                "expected_share_train": {e: {"before": round(before.get(e, 0.0), 4),
                                             "after": round(after.get(e, 0.0), 4),
                                             "target": self.cfg.entity_targets.get(e)}
                                         for e in sorted(before)}}

    def _check_clauses(self) -> None:
        """Exclusions on need clauses for every listed intent on both sides; refuse before any work."""
        ex, problems = self.exclusions, []
        where = f"{self.cfg.path}: exclusions"
        for kind, share in (("exclusion", ex.share), ("lookalike", ex.lookalike_share)):
            for intent in ex.intents if share > 0 else ():
                for held in (False, True):
                    if not self.excluder.eligible(held, self.cfg.tax.intents[intent], kind):
                        side = "heldout" if held else "train"
                        problems.append(f"{where}: no {kind} clause fits intent '{intent}' on the {side} "
                                        f"side ({self.grammar.folder}/exclusions.yml); add one or drop the "
                                        "intent from exclusions.intents")
        if problems:
            raise ConfigError(sorted(set(problems)))

    def _needs_open(self) -> bool:
        forms = {s.form for t in self.grammar.templates.values() for s in t.slots}
        forms |= {c.slot.form for c in self.grammar.clauses.values() if c.slot is not None}
        return self.open_cfg.share > 0 or bool(forms & {"clause", "phrase"})

    def _open_pools(self) -> OpenPools:
        # No open value may equal any KG value: it would then name a KG title or person on the wrong
        # side of the heldout partition, or read as a genre, mood or setting.
        taken = {v.lower() for vs in self.kg.pools.values() for v in vs}
        taken |= {t.title.lower() for t in self.kg.titles}
        taken |= {v.lower() for t in self.kg.titles for p in PEOPLE_POOLS for v in title_values(t, p)}
        held = self.cfg.split.heldout_entities if self.cfg.split.strategy == "heldout" else 0.0
        return build_open_pools(self.open_cfg, self.cfg.seed, taken, held)

    def _open_rotation(self, held: bool, pool: str, purpose: str = "") -> Rotation:
        """`purpose` "exclude": a rotation of its own, so excluded values leave the wishes' draws alone."""
        assert self.open is not None
        key = (held, pool + purpose)
        if key not in self._open_rot:
            self._open_rot[key] = Rotation(self.open.values[pool][held],
                                           random.Random(f"{self.cfg.seed}:open{purpose}:{pool}:{held}"))
        return self._open_rot[key]

    def _rotation(self, held: bool, pool: str, purpose: str = "") -> Rotation:
        key = (held, pool + purpose) if pool in PEOPLE_POOLS or pool == "title" else (False, pool + purpose)
        if key not in self._rot:
            if pool == "title":
                items = sorted({t.title for t in self.part.titles[held]})
            elif pool in PEOPLE_POOLS:
                items = sorted(set(self.kg.pools.get(pool, [])) & self.part.people[held])
            else:
                items = list(self.kg.pools.get(pool, []))
            self._rot[key] = Rotation(items, random.Random(f"{self.cfg.seed}:pool{purpose}:{pool}:{held}"))
        return self._rot[key]

    def _allowed(self, held: bool, pool: str, value: str) -> bool:
        if pool in PEOPLE_POOLS:
            return value in self.part.people[held]
        return True

    def _values(self, template: Template, seed: TitleFacts | None, held: bool,
                rng: random.Random, is_open: bool = False) -> list[Slot]:
        used: set[str] = set()
        slots = []
        for spec in template.slots:
            if spec.form in ("clause", "phrase"):
                value = self._open_rotation(held, spec.form).next(avoid=used)
            elif is_open and spec.pool in OPEN_POOLS:
                value = self._open_rotation(held, spec.pool).next(avoid=used)
            else:
                offered = [] if seed is None else title_values(seed, spec.pool)
                offered = [v for v in offered if v not in used and self._allowed(held, spec.pool, v)]
                # A second slot of a pool (title2, actor2) falls through to the rotation.
                value = rng.choice(offered) if offered else self._rotation(held, spec.pool).next(avoid=used)
            value = shape(value, spec.form, self.role_titles)
            used.add(value)
            slots.append(Slot(name=spec.name, type=spec.type, value=value))
        return slots

    def _with_clauses(self, frame_id: str, intent: str, slots: list[Slot], seed: TitleFacts | None,
                      held: bool, is_open: bool) -> tuple[tuple[str, ...], list[Slot]]:
        """The frame's clause ids and its slots in query order: excluded slots of the clauses before the
        template, the template's slots, those of the clauses after it."""
        picked = self.excluder.pick(frame_id, self.cfg.tax.intents[intent], held, len(slots))
        if not picked:
            return (), slots
        others = [(s.type, s.value) for s in slots]
        if seed is not None:  # the seed's own facts are never ruled out
            others += [(et.name, v) for et in self.cfg.tax.entity_types.values()
                       for v in title_values(seed, et.source)]
        before: list[tuple[str, Slot | None]] = []
        after: list[tuple[str, Slot | None]] = []
        for c in picked:
            slot = None
            if c.slot is not None:
                value = self._excluded_value(c.slot, held, is_open, others)
                if value is None:
                    continue
                others.append((c.slot.type, value))
                slot = Slot(name=c.id, type=c.slot.type, value=value, exclude=True)
            (before if c.where == "before" else after).append((c.id, slot))
        ids = tuple(cid for cid, _ in before + after)
        return ids, [s for _, s in before if s] + slots + [s for _, s in after if s]

    def _excluded_value(self, spec: SlotSpec, held: bool, is_open: bool,
                        others: list[tuple[str, str]]) -> str | None:
        """A value for an excluded slot from its own rotation, skipping clashes (synth.exclusions);
        None when a few dozen tries find none."""
        if spec.form in ("clause", "phrase"):
            rot = self._open_rotation(held, spec.form, "exclude")
        elif is_open and spec.pool in OPEN_POOLS:
            rot = self._open_rotation(held, spec.pool, "exclude")
        else:
            rot = self._rotation(held, spec.pool, "exclude")
        for _ in range(min(len(rot), 40)):
            value = shape(rot.next(), spec.form, self.role_titles)
            if not self.excluder.clashes(spec.type, value, others):
                return value
        return None

    def sample(self, counts: dict[str, dict[str, int]], round_idx: int) -> Iterator[Frame]:
        """`counts[intent][split]` frames each; ids are stable for a given seed, round and order."""
        rng = random.Random(f"{self.cfg.seed}:frames:{round_idx}")
        i = 0
        for intent, per_split in counts.items():
            for split, k in per_split.items():
                held = split == HELDOUT
                pool = self.part.templates[held][intent]
                weights = [t.weight * self.weight_factors[held].get(t.id, 1.0) for t in pool]
                for _ in range(k):
                    template = rng.choices(pool, weights)[0]
                    seed = self._title_rot[held].next() if template.slots else None
                    # Drawn only when open pools are on, so a recipe without them keeps its old frames.
                    is_open = self.open_cfg.share > 0 and rng.random() < self.open_cfg.share
                    slots = self._values(template, seed, held, rng, is_open)
                    fid = f"r{round_idx}-{i:06d}"
                    clauses, slots = self._with_clauses(fid, intent, slots, seed, held, is_open)
                    yield Frame(id=fid, intent=intent, template_id=template.id, slots=tuple(slots),
                                split=split, seed_title=seed.title if seed else None, clauses=clauses)
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
