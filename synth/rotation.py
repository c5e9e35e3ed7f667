"""Seed rotation: every value of a pool is used once before any value repeats."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Rotation(Generic[T]):
    """A shuffled cycle over a pool; reshuffles (seeded) each time the pool is exhausted."""

    def __init__(self, items: Sequence[T], rng: random.Random):
        if not items:
            raise ValueError("cannot rotate over an empty pool")
        self._items = list(items)
        self._rng = rng
        self._order: list[T] = []

    def __len__(self) -> int:
        return len(self._items)

    def next(self, avoid: set[T] | frozenset[T] = frozenset()) -> T:
        """Next value, skipping ones in `avoid` (e.g. a value already in the same frame) when possible."""
        if not self._order:
            self._order = self._items[:]
            self._rng.shuffle(self._order)
        for i in range(len(self._order) - 1, -1, -1):
            if self._order[i] not in avoid:
                return self._order.pop(i)
        return self._order.pop()
