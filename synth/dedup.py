"""Exact, normalized and near-duplicate removal; the first occurrence (in frame order) wins.

Near duplicates are only searched among records with the same intent and the same entity values
(a blocking key), which is where they arise and keeps the comparison cheap at 20k+ records.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from typing import Any

from rapidfuzz import fuzz, process

_PUNCT = re.compile(r"[^\w\s]", flags=re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalize_query(q: str) -> str:
    """Lowercase, strip punctuation (Unicode-aware), collapse whitespace."""
    q = unicodedata.normalize("NFKC", q).lower()
    return _SPACE.sub(" ", _PUNCT.sub(" ", q)).strip()


def block_key(rec: dict[str, Any]) -> tuple:
    # Ruled out or wished for is part of the key: "not a horror movie" is never a near duplicate of
    # "a horror movie", whose text differs by one word.
    return rec["intent"], tuple(sorted((e["type"], e["value"].lower(), bool(e.get("exclude")))
                                       for e in rec["entities"]))


class Deduper:
    """Streaming dedup; state persists across generation rounds."""

    def __init__(self, near: bool = True, threshold: float = 0.95):
        self.near, self.cutoff = near, threshold * 100
        self.dropped: Counter[str] = Counter()
        self._exact: set[str] = set()
        self._norm: set[str] = set()
        self._blocks: dict[tuple, list[str]] = defaultdict(list)

    def add(self, rec: dict[str, Any]) -> bool:
        """Keep `rec` (True) unless it duplicates one already kept; drops are counted by kind."""
        q = rec["query"]
        n = normalize_query(q)
        block = self._blocks[block_key(rec)]
        if q in self._exact:
            kind = "exact"
        elif n in self._norm:
            kind = "normalized"
        elif self.near and block and process.extractOne(n, block, scorer=fuzz.ratio,
                                                        score_cutoff=self.cutoff):
            kind = "near"
        else:
            self._exact.add(q)
            self._norm.add(n)
            block.append(n)
            return True
        self.dropped[kind] += 1
        return False


def dedup(records: list[dict[str, Any]], near: bool = True,
          threshold: float = 0.95) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Return kept records and counts of what was dropped, by kind."""
    d = Deduper(near, threshold)
    kept = [r for r in records if d.add(r)]
    return kept, d.dropped
