"""Phrasings: a query with each entity span replaced by its type placeholder, and for every heldout phrasing
the most similar train phrasing (rapidfuzz), as the DuckDB relations `phrasings` and `phrasing_nearest`.

Template ids alone cannot show leakage through wording: two templates with different ids can realise the
same phrasing through the shared paraphrase lexicon ("play {title} on {platform}" on both sides). The
similarity is rapidfuzz's `fuzz.ratio` / 100 (normalised Indel similarity) on lowercased phrasings, so
1.0 is an identical phrasing and 0.9 a one-word or typo difference in a ten-word query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

BLOCK = 2000  # heldout phrasings per cdist call: bounds memory at BLOCK x distinct train phrasings bytes


def phrasing(query: str, entities: Iterable[Mapping[str, Any]]) -> str:
    """`query` with each span replaced by `{type}`, lowercased, whitespace collapsed, end punctuation off."""
    for ent in sorted(entities, key=lambda e: -int(e["start"])):
        query = f"{query[: ent['start']]}{{{ent['type']}}}{query[ent['end']:]}"
    return re.sub(r"\s+", " ", query.lower()).strip(" .?!")


def nearest(queries: Sequence[str], choices: Sequence[str]) -> list[tuple[str, str, float]]:
    """(query, most similar choice, similarity in [0, 1]) for each query; [] when there are no choices."""
    if not choices:
        return []
    out = []
    for i in range(0, len(queries), BLOCK):
        block = list(queries[i: i + BLOCK])
        scores = process.cdist(block, choices, scorer=fuzz.ratio, dtype=np.uint8, workers=-1)
        best = scores.argmax(axis=1)
        out += [(q, choices[j], scores[k, j] / 100) for k, (q, j) in enumerate(zip(block, best, strict=True))]
    return out


def phrasing_tables(records: Iterable[tuple[str, str, str, str, Sequence[Mapping[str, Any]]]]
                    ) -> tuple[list[tuple[str, str, str, str]], list[tuple[str, str, float]]]:
    """Rows of `phrasings` (id, split, intent, phrasing) and `phrasing_nearest` (phrasing,
    train_phrasing, similarity) from (id, split, intent, query, entities) records."""
    rows = [(rid, split, intent, phrasing(query, ents or [])) for rid, split, intent, query, ents in records]
    train = sorted({p for _, split, _, p in rows if split == "train"})
    held = sorted({p for _, split, _, p in rows if split == "heldout"})
    return rows, nearest(held, train)
