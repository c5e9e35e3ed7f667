"""Span-preserving text: a query is built as segments, so gold offsets survive every transform.

A segment's label is an entity type, or None for plain text. An excluded entity (one the user rules
out: "not a horror movie", "without Tom Cruise") is labelled with its type behind EXCLUDE ("!genre"):
every transform treats it as any other entity (only None means plain text), and join_segments turns
the label back into the type plus `"exclude": true`.
"""

from __future__ import annotations

from typing import Any

Segment = tuple[str, str | None]  # (text, entity type, "!" + type when excluded, or None)
EXCLUDE = "!"


def excluded(etype: str) -> str:
    """The segment label of an excluded entity of type `etype`."""
    return EXCLUDE + etype


def read_label(label: str) -> tuple[str, bool]:
    """A segment label -> (entity type, excluded)."""
    return (label[1:], True) if label.startswith(EXCLUDE) else (label, False)


def join_segments(segments: list[Segment]) -> tuple[str, list[dict[str, Any]]]:
    """Concatenate segments into a query and the entity spans they carry (query[start:end] == value);
    an excluded entity carries "exclude": True, a wish has no such key."""
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    pos = 0
    for text, label in segments:
        if label is not None and text:
            etype, exclude = read_label(label)
            entities.append({"type": etype, "value": text, "start": pos, "end": pos + len(text),
                             **({"exclude": True} if exclude else {})})
        parts.append(text)
        pos += len(text)
    return "".join(parts), entities


def split_segments(query: str, entities: list[dict[str, Any]]) -> list[Segment]:
    """Inverse of join_segments for a record: text between spans becomes untyped segments."""
    out: list[Segment] = []
    pos = 0
    for ent in sorted(entities, key=lambda e: e["start"]):
        if ent["start"] > pos:
            out.append((query[pos:ent["start"]], None))
        label = excluded(ent["type"]) if ent.get("exclude") else ent["type"]
        out.append((query[ent["start"]:ent["end"]], label))
        pos = ent["end"]
    if pos < len(query):
        out.append((query[pos:], None))
    return out
