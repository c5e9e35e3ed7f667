"""JSON Schemas (draft 2020-12) derived from the taxonomy: one for records, one for model output."""

from __future__ import annotations

from typing import Any

from schemas.taxonomy import Taxonomy

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SPLITS = ("train", "validation", "test", "heldout")


def extraction_schema(tax: Taxonomy, *, max_value_chars: int | None = None,
                      max_entities: int | None = None, strict: bool = False) -> dict[str, Any]:
    """What the model outputs: an intent plus typed entity values, each optionally ruled out.

    `exclude: true` marks an entity the user rules out ("not a horror movie"); it is written only when
    true, after value and type (extraction_json), and only types in the taxonomy's `exclusion.types`
    may carry it as true. Keys are listed in that order (value, type, exclude), the order schema-mode decoding
    writes them. Local constrained decoding passes bounds, because a small model can otherwise loop
    inside one string until max_new_tokens runs out. `strict` gives the form OpenAI strict structured
    outputs accept: every key required (`exclude` then false for a wish), no bounds, no conditionals.
    """
    if strict and (max_value_chars or max_entities is not None):
        raise ValueError("strict structured outputs take no length or count bounds")
    value: dict[str, Any] = {"type": "string", "minLength": 1}
    if max_value_chars:
        value["maxLength"] = max_value_chars

    def item(types: list[str], exclude: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object",
                "properties": {"value": value, "type": {"type": "string", "enum": types}, "exclude": exclude},
                "required": ["value", "type", "exclude"] if strict else ["value", "type"],
                "additionalProperties": False}

    fixed = [t for t in tax.entity_names if t not in tax.excludable]
    if strict or not fixed:
        items = item(tax.entity_names, {"type": "boolean"})
    else:
        # anyOf rather than if/then: grammar compilers (xgrammar, llama.cpp) drop conditionals and
        # would then accept any object. A type that cannot be ruled out may only say exclude false.
        items = {"anyOf": [item([t for t in tax.entity_names if t in tax.excludable], {"type": "boolean"}),
                           item(fixed, {"const": False})]}
    entities: dict[str, Any] = {"type": "array", "items": items}
    if max_entities is not None:
        entities["maxItems"] = max_entities
    return {
        "$schema": DRAFT,
        "title": "Extraction",
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": tax.intent_names},
            "entities": entities,
        },
        "required": ["intent", "entities"],
        "additionalProperties": False,
    }


def record_schema(tax: Taxonomy) -> dict[str, Any]:
    """One labelled query. Offsets are Python string indices: query[start:end] == value."""
    span = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": tax.entity_names},
            "value": {"type": "string", "minLength": 1},
            "start": {"type": "integer", "minimum": 0},
            "end": {"type": "integer", "minimum": 1},
            "exclude": {"const": True},  # present only for an entity the user rules out
        },
        "required": ["type", "value", "start", "end"],
        "additionalProperties": False,
    }
    return {
        "$schema": DRAFT,
        "title": "Record",
        "type": "object",
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "query": {"type": "string", "minLength": 1},
            "intent": {"type": "string", "enum": tax.intent_names},
            "entities": {"type": "array", "items": span},
            "split": {"type": "string", "enum": list(SPLITS)},
            "meta": {"type": "object"},
        },
        "required": ["id", "query", "intent", "entities", "split", "meta"],
        "additionalProperties": False,
    }


def extraction_json(intent: str, entities: list[dict[str, Any]]) -> str:
    """The canonical training target: compact JSON, entities in the order given (query order), each its
    value first, then its type (decoding.grounded offers only the types that can take the value), then
    `"exclude":true` for an entity the user rules out (absent otherwise)."""
    import json

    ents = [{"value": e["value"], "type": e["type"], **({"exclude": True} if e.get("exclude") else {})}
            for e in entities]
    return json.dumps({"intent": intent, "entities": ents}, ensure_ascii=False, separators=(",", ":"))
