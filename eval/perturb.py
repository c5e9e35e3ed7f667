"""Named, deterministic perturbations of labelled records, for robustness tests only.

Every transform maps span-preserving segments to segments (synth.segments), so a perturbed record's
gold spans are exact: `query[start:end] == value` still holds. A transform that reaches into an entity
(typos or casing at high severity) changes the gold value to the perturbed surface text: the model is
asked to copy what the user typed, not to correct it. Perturbed records are evaluation data: never
train on them.

Transforms (configured per severity in eval/robustness.yml):
  typos              `count` keyboard slips (substitute, delete, transpose) via synth.noise.typo
  lowercase, uppercase, strip_punctuation    synth.noise's transforms
  fillers            `count` disfluencies inside the query: a filler ("um", "I mean") at a word
                     boundary, or a repeated word ("I I want")
  distractor         `count` irrelevant clauses before ("my friend said it's overrated but") and
                     after the query
  paraphrase         the record's own grammar template (or, with other_template, another template of
                     its intent with the same slot types) realized again with the record's values
A record's random draws depend only on (seed, perturbation name, severity, record id).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from synth import noise
from synth.segments import Segment, join_segments, split_segments

SEVERITIES = ("low", "med", "high")
_WORD = re.compile(r"[A-Za-z']+")


def typos(segments: Sequence[Segment], rng: random.Random, *, count: int = 1,
          inside_entities: bool = False, kinds: Sequence[str] = ("substitute", "delete", "transpose"),
          min_letters: int = 4) -> list[Segment]:
    out = list(segments)
    for _ in range(count):
        out = noise.typo(out, rng, inside_entities=inside_entities, kinds=[(k, 1.0) for k in kinds],
                         min_letters=min_letters)
    return out


def _insert_all(segments: Sequence[Segment], edits: list[tuple[int, int, str]]) -> list[Segment]:
    """Apply (segment index, offset, text) insertions, all placed against the original segments, so an
    inserted filler is never split by a later one. Text at offset 0 of an entity goes in front of it."""
    out = list(segments)
    for i, at, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        seg, etype = out[i]
        out[i:i + 1] = ([(text, None), (seg, etype)] if etype is not None
                        else [(seg[:at] + text + seg[at:], None)])
    return out


def fillers(segments: Sequence[Segment], rng: random.Random, *, count: int = 1,
            words: Sequence[str] = ("um",), repeat_share: float = 0.0) -> list[Segment]:
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
    return noise.tidy_spaces(_insert_all(segments, edits))


def distractor(segments: Sequence[Segment], rng: random.Random, *, count: int = 1,
               before: Sequence[str] = (), after: Sequence[str] = ()) -> list[Segment]:
    """Clauses alternate before and after the query (the first side drawn), none repeated."""
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
    return noise.tidy_spaces(out)


TRANSFORMS: dict[str, Callable[..., list[Segment]]] = {
    "typos": typos, "lowercase": noise.lowercase, "uppercase": noise.uppercase,
    "strip_punctuation": noise.strip_punctuation, "fillers": fillers, "distractor": distractor,
}
RECORD_TRANSFORMS = ("paraphrase",)  # need the record and the grammar, not only its segments


def _slot_values(template: Any, entities: Sequence[Mapping[str, Any]]) -> dict[str, str] | None:
    """Slot name -> the record's value, matching slots to entities of the same type in order."""
    by_type: dict[str, list[str]] = {}
    for e in sorted(entities, key=lambda e: e["start"]):
        by_type.setdefault(e["type"], []).append(e["value"])
    if Counter(s.type for s in template.slots) != Counter({t: len(v) for t, v in by_type.items()}):
        return None
    return {s.name: by_type[s.type].pop(0) for s in template.slots}


def paraphrase(record: Mapping[str, Any], grammar: Any, rng: random.Random, *, other_template: bool = False,
               tries: int = 5) -> list[Segment] | None:
    """The record's values in a fresh realization of a grammar template; None when no template fits."""
    own = grammar.templates.get((record.get("meta") or {}).get("template_id") or "")
    if own is None or own.intent != record["intent"]:
        return None
    candidates = [own]
    if other_template:
        others = [t for t in grammar.for_intent(record["intent"])
                  if t.id != own.id and _slot_values(t, record["entities"]) is not None]
        candidates = sorted(others, key=lambda t: t.id) or candidates
    template = rng.choice(candidates)
    values = _slot_values(template, record["entities"])
    if values is None:
        return None
    best: list[Segment] | None = None
    for _ in range(tries):  # a template with few alternatives may give the same text back
        best = grammar.realize(template, values, rng)
        if join_segments(best)[0] != record["query"]:
            break
    return best


@dataclass(frozen=True)
class Perturbation:
    name: str       # as in robustness.yml, e.g. "typos"
    transform: str  # a key of TRANSFORMS or RECORD_TRANSFORMS
    severity: str   # low | med | high
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        return f"{self.name}-{self.severity}"


def perturb_record(record: Mapping[str, Any], p: Perturbation, seed: int,
                   grammar: Any = None) -> dict[str, Any]:
    """A copy of `record` with perturbed text and exact spans; unchanged (meta.perturbed false) when the
    transform does not apply or would drop an entity."""
    rng = random.Random(f"{seed}:{p.name}:{p.severity}:{record['id']}")
    segments = split_segments(record["query"], record["entities"])
    if p.transform in RECORD_TRANSFORMS:
        new = paraphrase(record, grammar, rng, **p.params) if grammar is not None else None
    else:
        new = TRANSFORMS[p.transform](segments, rng, **p.params)
    query, entities = join_segments(new) if new is not None else (record["query"], record["entities"])
    if len(entities) != len(record["entities"]) or not query.strip():
        query, entities = record["query"], record["entities"]
    meta = {**(record.get("meta") or {}), "perturbation": p.name, "severity": p.severity,
            "original_query": record["query"], "perturbed": query != record["query"]}
    return {**record, "query": query, "entities": entities, "meta": meta}


def perturb_records(records: Sequence[Mapping[str, Any]], p: Perturbation, seed: int,
                    grammar: Any = None) -> list[dict[str, Any]]:
    return [perturb_record(r, p, seed, grammar) for r in records]
