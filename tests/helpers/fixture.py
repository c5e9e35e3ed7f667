"""A small chat dataset in the exact `make data` format, for tests and smoke runs without `make data`.

Usage: python -m tests.helpers.fixture --out data/fixture [--n 400] [--seed 0]

Writes DIR/chat/{train,validation}.jsonl and DIR/manifest.json (sha256 per file, system_prompt).
Labels, entity values and lead-in phrases all come from the taxonomy (intent examples and entity
examples), and each intent's rules (requires_any / forbids / max_entities) are honoured, so every
target is a valid extraction whose entity values occur in the query. Not a substitute for `synth`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

from schemas import ConfigError, extraction_json, load_taxonomy, load_yaml
from schemas.outputs import claim_output_folder

DATA_CONFIG = Path("recipes/data/default.yml")
FALLBACK_PROMPT = "Extract the search intent and entities as JSON."


def system_prompt() -> str:
    """The short system prompt `make data` writes, read from its recipe so both agree."""
    if DATA_CONFIG.is_file():
        prompt = ((load_yaml(DATA_CONFIG) or {}).get("chat") or {}).get("system_prompt")
        if prompt:
            return str(prompt)
    return FALLBACK_PROMPT


def _entities_for(intent: Any, tax: Any, rng: random.Random) -> list[dict[str, str]]:
    rules = intent.rules
    if rules.max_entities == 0:
        return []
    allowed = [t for t in tax.entity_names if t not in rules.forbids and tax.entity_types[t].examples]
    types: list[str] = []
    if rules.requires_any:
        types.append(rng.choice([t for t in rules.requires_any if t in allowed] or allowed))
    for _ in range(rng.randint(0 if types else 1, 2 - len(types))):
        pick = rng.choice(allowed)
        if pick not in types:
            types.append(pick)
    return [{"type": t, "value": rng.choice(tax.entity_types[t].examples)} for t in types]


def make_example(tax: Any, prompt: str, rng: random.Random) -> dict[str, Any]:
    """One chat row: the intent's lead-in (first words of a taxonomy example) plus entity values."""
    intent = tax.intents[rng.choice(tax.intent_names)]
    entities = _entities_for(intent, tax, rng)
    example = rng.choice(intent.examples) if intent.examples else intent.name
    if entities:
        words = example.split()
        # Up to two leading words, stopping at a capitalised one (a title inside the example).
        lead = " ".join(words[:2] if len(words) > 1 and words[1].islower() else words[:1])
        query = lead + " " + " and ".join(e["value"] for e in entities)
    else:
        query = example
    return {"messages": [
        {"role": "system", "content": prompt},
        {"role": "user", "content": query},
        {"role": "assistant", "content": extraction_json(intent.name, entities)},
    ]}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_fixture(out: Path, n: int = 400, seed: int = 0, validation: float = 0.1) -> Path:
    """Write a fixture dataset folder and return it."""
    tax, prompt, rng = load_taxonomy(), system_prompt(), random.Random(seed)
    rows = [make_example(tax, prompt, rng) for _ in range(n)]
    n_val = max(1, int(n * validation))
    # A fixture folder written before the marker file existed names its generator train.fixture.
    claim_output_folder(out, (("manifest.json", '"train.fixture"'),))
    chat = out / "chat"
    chat.mkdir(parents=True, exist_ok=True)
    files = {"chat/train.jsonl": rows[n_val:], "chat/validation.jsonl": rows[:n_val]}
    for name, part in files.items():
        (out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), "utf-8")
    manifest = {
        "name": out.name,
        "system_prompt": prompt,
        "config": {"generator": "tests.helpers.fixture", "n": n, "seed": seed},
        "counts": {name: len(part) for name, part in files.items()},
        "sha256": {name: sha256_file(out / name) for name in files},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        print(write_fixture(args.out, args.n, args.seed))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
