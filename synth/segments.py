"""Span-preserving text: a query is built as segments, so gold offsets survive every transform."""

from __future__ import annotations

from typing import Any

Segment = tuple[str, str | None]  # (text, entity type or None)


def join_segments(segments: list[Segment]) -> tuple[str, list[dict[str, Any]]]:
    """Concatenate segments into a query and the entity spans they carry (query[start:end] == value)."""
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    pos = 0
    for text, etype in segments:
        if etype is not None and text:
            entities.append({"type": etype, "value": text, "start": pos, "end": pos + len(text)})
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
        out.append((query[ent["start"]:ent["end"]], ent["type"]))
        pos = ent["end"]
    if pos < len(query):
        out.append((query[pos:], None))
    return out
