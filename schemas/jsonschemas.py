"""JSON Schemas (draft 2020-12) derived from the taxonomy: one for records, one for model output."""

from __future__ import annotations

from typing import Any

from schemas.taxonomy import Taxonomy

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SPLITS = ("train", "validation", "test", "heldout")


def extraction_schema(tax: Taxonomy, *, max_value_chars: int | None = None,
                      max_entities: int | None = None) -> dict[str, Any]:
    """What the model outputs: an intent plus typed entity values.

    Without bounds the schema is valid for OpenAI strict structured outputs (every key required,
    no additional properties, enums from the taxonomy). Local constrained decoding passes bounds,
    because a small model can otherwise loop inside one string until max_new_tokens runs out.
    """
    value: dict[str, Any] = {"type": "string", "minLength": 1}
    if max_value_chars:
        value["maxLength"] = max_value_chars
    entities: dict[str, Any] = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"type": {"type": "string", "enum": tax.entity_names}, "value": value},
            "required": ["type", "value"],
            "additionalProperties": False,
        },
    }
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
    """The canonical training target: compact JSON, entities in the order given (query order)."""
    import json

    ents = [{"type": e["type"], "value": e["value"]} for e in entities]
    return json.dumps({"intent": intent, "entities": ents}, ensure_ascii=False, separators=(",", ":"))
