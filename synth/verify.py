"""Turn a backend's Realized into a verified record, or a rejection reason.

Labels come from the frame, never from the model: each frame value must be found in the query.
Spans the backend supplied are kept when exact; otherwise the value is searched for and repaired
when it occurs exactly once (case-insensitively), else the frame is rejected, counted by reason.

A slot the user rules out (Slot.exclude) becomes an entity with "exclude": true, and only the types the
taxonomy lists under exclusion.types may carry it. The intent rule requires_any counts wishes only ("like
Alien but not horror" needs its title wished for, not ruled out); forbids and max_entities count every
entity. A closed type's value must be a span its lexicon accepts (schemas/lexicon.py), as grounded
decoding demands of the model.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import jsonschema

from schemas import Taxonomy, record_schema
from synth.types import Realized


class Verifier:
    def __init__(self, tax: Taxonomy, backend: str):
        self.tax = tax
        self.backend = backend
        self.validator = jsonschema.Draft202012Validator(record_schema(tax))
        self.rejections: Counter[str] = Counter()
        self.repairs: Counter[str] = Counter()

    def __call__(self, r: Realized) -> dict[str, Any] | None:
        reason, record = self.check(r)
        if reason:
            self.rejections[reason] += 1
            return None
        return record

    def check(self, r: Realized) -> tuple[str | None, dict[str, Any] | None]:
        """The rejection reason, or the verified record; counts nothing (calling the verifier counts)."""
        if r.error:
            return r.error, None
        query = (r.query or "").strip()
        if not query:
            return "empty_query", None
        entities = []
        closed = self.tax.closed_types
        for slot in r.frame.slots:
            if slot.exclude and slot.type not in self.tax.excludable:
                return f"exclude_not_allowed:{slot.type}", None
            span = self._ground(query, slot.type, slot.value, r.entities, slot.exclude)
            if span is None:
                return f"value_not_in_query:{slot.type}", None
            if span == "ambiguous":
                return f"ambiguous_span:{slot.type}", None
            if slot.type in closed and not closed[slot.type].accepts(span["value"]):
                return f"lexicon_refused:{slot.type}", None
            if slot.exclude:
                span["exclude"] = True
            entities.append(span)
        entities.sort(key=lambda e: e["start"])
        if any(a["end"] > b["start"] for a, b in zip(entities, entities[1:], strict=False)):
            return "overlapping_spans", None
        rule = self._rule_violation(r.frame.intent, entities)
        if rule:
            return rule, None
        f = r.frame
        record = {
            "id": f.id, "query": query, "intent": f.intent, "entities": entities, "split": f.split,
            "meta": {"template_id": f.template_id, "backend": self.backend, "seed_title": f.seed_title},
        }
        if r.noise:
            record["meta"]["noise"] = list(r.noise)
        # which clauses the query holds, by kind (excluded slots are named by their clause id)
        excluding = {s.name for s in f.slots if s.exclude}
        for key, ids in (("exclusion_clauses", [c for c in f.clauses if c in excluding]),
                         ("lookalike_clauses", [c for c in f.clauses if c not in excluding])):
            if ids:
                record["meta"][key] = ids
        if not self.validator.is_valid(record):
            return "schema_violation", None
        return None, record

    def _ground(self, query: str, etype: str, value: str, claimed: list[dict[str, Any]],
                exclude: bool = False) -> Any:
        for e in claimed:
            s, t = e.get("start"), e.get("end")
            if e.get("type") == etype and bool(e.get("exclude")) == exclude and isinstance(s, int) \
                    and isinstance(t, int) and 0 <= s < t <= len(query) \
                    and query[s:t].lower() == value.lower():
                return {"type": etype, "value": query[s:t], "start": s, "end": t}
        # Word boundaries, so "Up" is not found inside "supper".
        pattern = rf"(?<!\w){re.escape(value)}(?!\w)"
        hits = [m.start() for m in re.finditer(pattern, query, flags=re.IGNORECASE)]
        if not hits:
            return None
        if len(hits) > 1:
            return "ambiguous"
        if claimed:
            self.repairs[f"span_repaired:{etype}"] += 1
        s = hits[0]
        return {"type": etype, "value": query[s:s + len(value)], "start": s, "end": s + len(value)}

    def _rule_violation(self, intent: str, entities: list[dict[str, Any]]) -> str | None:
        rules = self.tax.intents[intent].rules
        types = {e["type"] for e in entities}
        wished = {e["type"] for e in entities if not e.get("exclude")}
        if rules.max_entities is not None and len(entities) > rules.max_entities:
            return f"rule:{intent}:too_many_entities"
        if rules.requires_any and not wished & set(rules.requires_any):
            return f"rule:{intent}:requires_{'_or_'.join(rules.requires_any)}"
        bad = types & set(rules.forbids)
        if bad:
            return f"rule:{intent}:forbids_{sorted(bad)[0]}"
        return None
