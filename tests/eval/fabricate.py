"""Fabricated records and predictions for the eval tests, derived from the taxonomy (no labels written here).

Records: each intent gets a few distinctive words taken from its own description, each entity value comes
from the taxonomy's examples, so a real classifier and gazetteer can learn them. Predictions: gold rows
from records plus noisy pred rows (wrong, unseen or missing intents, case/punctuation/article variants,
duplicates, spurious and unknown-type entities) in the long form of eval/predictions.py.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from eval.predictions import long_rows, write_predictions
from schemas import Taxonomy

UNSEEN_INTENT = "zz_not_in_taxonomy"
UNSEEN_TYPE = "zz_unknown_type"


def intent_words(tax: Taxonomy, intent: str) -> list[str]:
    words = re.findall(r"[a-z]{4,}", tax.intents[intent].description.lower())
    return words[:4] or [intent]


def make_record(tax: Taxonomy, rng: random.Random, rid: str, split: str, intent: str | None = None,
                n_entities: int | None = None) -> dict[str, Any]:
    """A record whose query is intent words interleaved with entity values, spans exact."""
    intent = intent or rng.choice(tax.intent_names)
    words = intent_words(tax, intent)
    rules = tax.intents[intent].rules  # follow the taxonomy's rules, as synth's verifier does
    allowed = [t for t in tax.entity_names if t not in rules.forbids]
    n = rng.randint(0, 3) if n_entities is None else n_entities
    n = min(n, rules.max_entities) if rules.max_entities is not None else n
    parts: list[tuple[str, str | None]] = [(" ".join(rng.sample(words, k=min(2, len(words)))), None)]
    for k in range(max(n, 1) if rules.requires_any else n):
        etype = rng.choice(rules.requires_any if rules.requires_any and k == 0 else allowed)
        value = rng.choice(tax.entity_types[etype].examples or (etype,))
        parts += [(rng.choice(["with", "about", "and", "from"]), None), (value, etype)]
    query, entities = "", []
    for text, etype in parts:
        if query:
            query += " "
        if etype:
            entities.append({"type": etype, "value": text, "start": len(query), "end": len(query) + len(text)})
        query += text
    return {"id": rid, "query": query, "intent": intent, "entities": entities, "split": split,
            "meta": {"template_id": f"t_{intent}", "backend": "fabricated"}}


def make_records(tax: Taxonomy, n: int, split: str, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_record(tax, rng, f"{split}-{i:05d}", split) for i in range(n)]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


VARIANTS = (
    lambda v: v,
    lambda v: v.upper(),
    lambda v: f"the {v}",
    lambda v: f"{v}!",
    lambda v: f"  {v}  ",
    lambda v: v.replace(" ", "  "),
    lambda v: f"{v[:-1]}" if len(v) > 3 else v,  # a near miss: a different value
)


def noisy_prediction(tax: Taxonomy, rng: random.Random, record: dict[str, Any]) -> tuple[dict | None, str]:
    """A plausible model output for `record`: (parsed extraction or None, status)."""
    roll = rng.random()
    if roll < 0.08:
        return None, rng.choice(["invalid_json", "truncated"])
    if roll < 0.55:
        intent = record["intent"]
    elif roll < 0.62:
        intent = UNSEEN_INTENT
    else:
        intent = rng.choice(tax.intent_names)
    entities = []
    for e in record["entities"]:
        if rng.random() < 0.8:
            entities.append({"type": e["type"], "value": rng.choice(VARIANTS)(e["value"])})
            if rng.random() < 0.15:  # duplicate row, must count once
                entities.append(dict(entities[-1]))
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        etype = rng.choice(tax.entity_names + [UNSEEN_TYPE])
        pool = tax.entity_types[etype].examples if etype in tax.entity_types else ("whatever",)
        entities.append({"type": etype, "value": rng.choice(pool or ("x",))})
    status = "schema_violation" if intent == UNSEEN_INTENT or any(
        e["type"] == UNSEEN_TYPE for e in entities) else "ok"
    return {"intent": intent, "entities": entities}, status


def noisy_rows(tax: Taxonomy, records: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for rec in records:
        pred, status = noisy_prediction(tax, rng, rec)
        rows += long_rows(rec, pred, status)
    return rows


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    return write_predictions(path, rows)


# ---------------------------------------------------------------- polarity
def with_exclusions(tax: Taxonomy, records: list[dict[str, Any]], seed: int,
                    share: float = 0.4) -> list[dict[str, Any]]:
    """Copies of `records` where about `share` of the entities of excludable types are ruled out
    ("exclude": true), drawn from their own random stream so the other fabrications stay as they were."""
    rng = random.Random(f"exclude:{seed}")
    return [dict(r, entities=[dict(e, exclude=True) if e["type"] in tax.excludable and rng.random() < share
                              else e for e in r["entities"]]) for r in records]


def _core(value: str) -> str:
    """A predicted variant (VARIANTS) back to the value it came from, near enough to find its gold."""
    v = " ".join(value.split()).rstrip("!").casefold()
    return v.removeprefix("the ")


def polarity_noise(rows: list[dict[str, Any]], seed: int, flip: float = 0.25) -> list[dict[str, Any]]:
    """Pred entity rows get the polarity of the gold value they copy, flipped with probability `flip`
    (a wish read as an exclusion and the other way round); a spurious value is excluded half the time.
    Gold rows keep theirs; intent rows keep NULL."""
    rng = random.Random(f"polarity:{seed}")
    gold = {(r["id"], r["field"], _core(r["value"])): bool(r["exclude"]) for r in rows
            if r["source"] == "gold" and r["field"] != "intent"}
    out = []
    for r in rows:
        if r["source"] == "pred" and r["field"] != "intent" and r["value"] is not None:
            known = gold.get((r["id"], r["field"], _core(r["value"])))
            r = dict(r, exclude=(rng.random() < 0.5) if known is None else known != (rng.random() < flip))
        out.append(r)
    return out
