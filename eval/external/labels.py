"""Label maps (corpus label -> taxonomy label) and the conversion of corpus queries into our records."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eval.external.corpus import Corpus
from schemas import ConfigError, Taxonomy, load_yaml, unknown_keys
from schemas.config import did_you_mean

MAP_KEYS = ("name", "entities", "intents")


@dataclass(frozen=True)
class LabelMap:
    name: str
    entities: dict[str, str]
    intents: dict[str, str]
    path: str


def load_label_map(path: str | Path, tax: Taxonomy) -> LabelMap:
    raw = load_yaml(path) or {}
    where = str(path)
    problems = unknown_keys(raw, MAP_KEYS, where)
    entities, intents = raw.get("entities") or {}, raw.get("intents") or {}
    if not isinstance(entities, dict) or not entities:
        problems.append(f"{where}: entities must map corpus labels to taxonomy entity types")
        entities = {}
    for label, target in entities.items():
        if target not in tax.entity_types:
            problems.append(f"{where}: entities.{label}: '{target}' is not an entity type in {tax.path}"
                            f"{did_you_mean(str(target), tax.entity_names)}")
    for label, target in intents.items():
        if target not in tax.intents:
            problems.append(f"{where}: intents.{label}: '{target}' is not an intent in {tax.path}"
                            f"{did_you_mean(str(target), tax.intent_names)}")
    if problems:
        raise ConfigError(problems)
    name = str(raw.get("name") or Path(path).stem)
    return LabelMap(name, {str(k): v for k, v in entities.items()}, {str(k): v for k, v in intents.items()},
                    where)


def to_records(corpus: Corpus, lmap: LabelMap) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Our record format (split "test"); spans of unmapped labels dropped and counted in the summary."""
    records, labels, unmapped, unmapped_intents = [], Counter(), Counter(), Counter()
    for i, q in enumerate(corpus.queries):
        entities = []
        for s, e, label in q.spans:
            labels[label] += 1
            if label in lmap.entities:
                entities.append({"type": lmap.entities[label], "value": q.text[s:e], "start": s, "end": e})
            else:
                unmapped[label] += 1
        intent = lmap.intents.get(q.intent) if q.intent else None
        if q.intent and intent is None:
            unmapped_intents[q.intent] += 1
        records.append({"id": f"{lmap.name}-{i:05d}", "query": q.text, "intent": intent, "entities": entities,
                        "split": "test", "meta": {"source": str(corpus.path), "where": q.where,
                                                  "corpus_intent": q.intent, "backend": "external"}})
    summary = {"corpus": str(corpus.path), "format": corpus.fmt, "map": lmap.path, "queries": len(records),
               "spans_by_label": dict(labels.most_common()), "unmapped_labels": dict(unmapped.most_common()),
               "unmapped_intents": dict(unmapped_intents.most_common()),
               "mapped_types": sorted(set(lmap.entities.values())),
               "with_intent": sum(r["intent"] is not None for r in records),
               "repairs": dict(corpus.repairs)}
    return records, summary


def mapped_taxonomy(tax: Taxonomy, lmap: LabelMap) -> Taxonomy:
    """The taxonomy cut down to the entity types the corpus labels map to, so macro averages and
    per-type tables cover only what the corpus can judge."""
    kept = set(lmap.entities.values())
    return replace(tax, entity_types={n: t for n, t in tax.entity_types.items() if n in kept})
