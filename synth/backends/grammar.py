"""The offline backend: a grammar template realized with the frame's values, then surface noise.

Each frame gets its own `random.Random(f"{seed}:{frame.id}")`, so a frame's text depends only on the
seed and the frame, never on which frames came before it (deterministic, order-independent).

A frame's clauses (synth/grammar/exclusions.yml) are realized around the template; an excluded slot is
labelled "!<type>" (synth.segments), so the entity carries "exclude": true. Given the taxonomy's closed
types, an entity typo that leaves a closed value its lexicon refuses ("moie") is not applied: grounded
decoding could never label that span, so the data must not teach it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace

from schemas.lexicon import Lexicon
from synth.noise import NoiseConfig, apply_noise
from synth.segments import join_segments, read_label
from synth.templates import Grammar
from synth.types import Frame, Realized


class GrammarBackend:
    name = "grammar"

    def __init__(self, grammar: Grammar, noise: NoiseConfig, seed: int,
                 closed: Mapping[str, Lexicon] | None = None):
        self.grammar, self.noise, self.seed = grammar, noise, seed
        self.closed = dict(closed or {})  # entity type -> lexicon (Taxonomy.closed_types)

    def _accepts(self, label: str, text: str) -> bool:
        lex = self.closed.get(read_label(label)[0])
        return lex is None or lex.accepts(text)

    def realize(self, frames: Iterable[Frame]) -> Iterator[Realized]:
        for frame in frames:
            yield self.realize_one(frame)

    def realize_one(self, frame: Frame) -> Realized:
        """One frame; a problem with the frame becomes `error` ("reason: detail"), never an exception."""
        template = self.grammar.templates.get(frame.template_id)
        if template is None:
            return Realized(frame, None, error=f"unknown template: {frame.template_id}")
        if template.intent != frame.intent:
            return Realized(frame, None, error=f"intent mismatch: frame {frame.intent}, "
                                               f"template {template.id} {template.intent}")
        values = {s.name: s.value for s in frame.slots}
        if len(values) != len(frame.slots):
            return Realized(frame, None, error=f"slot values: duplicate slot names in frame {frame.id}")
        types = {s.name: s.type for s in template.slots}
        if wrong := [s.name for s in frame.slots if s.name in types and s.type != types[s.name]]:
            return Realized(frame, None, error=f"slot type mismatch: {wrong[0]} is {types[wrong[0]]} in "
                                               f"template {template.id}")
        if unknown := [c for c in frame.clauses if c not in self.grammar.clauses]:
            return Realized(frame, None, error=f"unknown clause: {unknown[0]}")
        rng = random.Random(f"{self.seed}:{frame.id}")
        try:
            if frame.clauses:
                # an exclusion clause's value is the frame slot named by the clause id
                clauses = [(self.grammar.clauses[c], values.pop(c, None)) for c in frame.clauses]
                segments = self.grammar.realize_with_clauses(template, values, clauses, rng)
            else:
                segments = self.grammar.realize(template, values, rng)
        except ValueError as exc:
            return Realized(frame, None, error=f"slot values: {exc}")
        applied: list[str] = []
        noisy = apply_noise(segments, self.noise, rng, applied, self._accepts if self.closed else None)
        query, entities = join_segments(noisy)
        # Noise may respell an entity (a typo, no punctuation): the label is what the user typed, so the
        # frame's values follow the text. Segments keep slot order, so entities[i] is frame.slots[i].
        if len(entities) == len(frame.slots):
            frame = replace(frame, slots=tuple(replace(s, value=e["value"])
                                               for s, e in zip(frame.slots, entities, strict=True)))
        return Realized(frame, query, entities, noise=tuple(applied))
