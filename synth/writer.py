"""Write a dataset folder: records per split (JSONL + Parquet), axolotl chat files, manifest.

`write_dataset` fills whatever folder it is given; `synth.pipeline` gives it a temporary sibling of the
output (schemas.atomic) and swaps it in only after `verify_manifest` passes, so data/<name>/ is always
a complete dataset: the previous one or the new one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from schemas import SPLITS, extraction_json
from schemas.atomic import pause_point

CHAT_SPLITS = ("train", "validation")
# exclude: true for an entity the user rules out, null for a wish (absent from the JSONL record)
_ENTITY = pa.struct([("type", pa.string()), ("value", pa.string()),
                     ("start", pa.int32()), ("end", pa.int32()), ("exclude", pa.bool_())])
CLAUSE_COLUMNS = ("exclusion_clauses", "lookalike_clauses")  # meta: clause ids (synth/grammar/exclusions.yml)
RECORD_SCHEMA = pa.schema([
    ("id", pa.string()), ("query", pa.string()), ("intent", pa.string()),
    ("entities", pa.list_(_ENTITY)), ("split", pa.string()),
    ("template_id", pa.string()), ("backend", pa.string()), ("seed_title", pa.string()),
    ("noise", pa.list_(pa.string())),
    *((c, pa.list_(pa.string())) for c in CLAUSE_COLUMNS),
])


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def chat_example(rec: dict[str, Any], system_prompt: str) -> dict[str, Any]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages += [{"role": "user", "content": rec["query"]},
                 {"role": "assistant", "content": extraction_json(rec["intent"], rec["entities"])}]
    return {"messages": messages}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    # meta is flattened into columns so the audit SQL can group by template without JSON functions.
    flat = [{**{k: r[k] for k in ("id", "query", "intent", "entities", "split")},
             **{k: r["meta"].get(k) for k in ("template_id", "backend", "seed_title")},
             "noise": r["meta"].get("noise") or [],
             **{c: r["meta"].get(c) or [] for c in CLAUSE_COLUMNS}} for r in rows]
    pq.write_table(pa.Table.from_pylist(flat, schema=RECORD_SCHEMA), path, row_group_size=50_000)


def write_dataset(out: Path, records: list[dict[str, Any]], system_prompt: str,
                  manifest: dict[str, Any]) -> dict[str, Any]:
    """Write every file, then manifest.json with the sha256 of each; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "chat").mkdir(exist_ok=True)
    by_split: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for r in records:
        by_split[r["split"]].append(r)
    files: list[Path] = []
    for split, rows in by_split.items():
        for stale in (out / f"{split}.jsonl", out / f"{split}.parquet", out / "chat" / f"{split}.jsonl"):
            stale.unlink(missing_ok=True)
        if not rows:
            continue
        rows.sort(key=lambda r: r["id"])
        _write_jsonl(out / f"{split}.jsonl", rows)
        _write_parquet(out / f"{split}.parquet", rows)
        files += [out / f"{split}.jsonl", out / f"{split}.parquet"]
        if split in CHAT_SPLITS:
            # Shuffled (by a hash of the id, so still deterministic): records are written sorted by
            # id, which groups intents, and a trainer reading the first k rows would see one intent.
            shuffled = sorted(rows, key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
            _write_jsonl(out / "chat" / f"{split}.jsonl", [chat_example(r, system_prompt) for r in shuffled])
            files.append(out / "chat" / f"{split}.jsonl")
        pause_point(f"synth:wrote-{split}")
    manifest = {**manifest, "system_prompt": system_prompt,
                "sha256": {str(p.relative_to(out)): sha256_file(p) for p in files}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return manifest


def verify_manifest(folder: Path) -> list[str]:
    """Problems with a dataset folder: missing manifest, or a file whose sha256 differs from it."""
    path = folder / "manifest.json"
    if not path.is_file():
        return [f"{path}: missing"]
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))["sha256"]
    except (json.JSONDecodeError, KeyError) as exc:
        return [f"{path}: unreadable ({exc})"]
    return [f"{folder / rel}: sha256 differs from the manifest" for rel, digest in listed.items()
            if not (folder / rel).is_file() or sha256_file(folder / rel) != digest]
