"""The data passed between synth stages: frames (labels before text) and realized candidates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


class BackendDown(Exception):
    """A backend cannot go on (e.g. its endpoint is unreachable); the run stops, nothing is written."""


@dataclass(frozen=True)
class Slot:
    name: str   # slot name in the template, e.g. "actor2"
    type: str   # entity type from the taxonomy, e.g. "actor"
    value: str  # canonical value drawn from the knowledge graph
    exclude: bool = False  # the user rules this value out ("not a horror movie"); see synth/exclusions.py


@dataclass(frozen=True)
class Frame:
    """An intent plus entity values, chosen before any text exists."""

    id: str
    intent: str
    template_id: str
    slots: tuple[Slot, ...]
    split: str
    seed_title: str | None = None
    # Exclusion and look-alike clauses (synth/grammar/exclusions.yml) around the template, in query order.
    # An exclusion clause's slot is the frame slot named by the clause id; slots are in query order.
    clauses: tuple[str, ...] = ()


@dataclass
class Realized:
    """A backend's attempt at turning a frame into a query; `error` set when it produced none."""

    frame: Frame
    query: str | None
    entities: list[dict[str, Any]] = field(default_factory=list)  # type, value, optional start/end
    error: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    noise: tuple[str, ...] = ()  # surface transforms that changed the text (synth.noise.apply_noise)


class Backend(Protocol):
    name: str

    def realize(self, frames: Iterable[Frame]) -> Iterator[Realized]:
        """Yield one Realized per frame, in any order."""
        ...
