"""Run folders and the dataset they were trained on: find the newest run, read its card, compare data.

An adapter is only meaningful against the dataset it was trained on, so every scorer (eval, robustness,
external corpora, shared records) reads the run the same way and refuses a mismatched --data the same way.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from schemas import ConfigError

ADAPTER_FILE = "adapter_model.safetensors"


def newest_run(root: Path = Path("runs")) -> Path:
    adapters = sorted(root.glob(f"**/{ADAPTER_FILE}"), key=lambda p: p.stat().st_mtime)
    adapters = [a for a in adapters if "checkpoint-" not in str(a.parent.name)]
    if not adapters:
        raise ConfigError([f"{root}: no run folder with {ADAPTER_FILE}; train one (make train) "
                           "or pass --run"])
    return adapters[-1].parent


def read_run_card(run: Path) -> dict[str, Any]:
    path = run / "run_card.json"
    if not path.is_file():
        raise ConfigError([f"{path}: file not found; finish training with make train or pass another --run"])
    card = json.loads(path.read_text(encoding="utf-8"))
    if not (card.get("resolved_config") or {}).get("base_model"):
        raise ConfigError([f"{path}: key resolved_config.base_model missing; retrain with make train"])
    return card


def short_hash(value: Any) -> str | None:
    """A 12-hex id of the dataset: of the manifest's per-file sha256 map (run card) or a given digest."""
    if not value:
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def trained_hash(card: dict[str, Any]) -> str | None:
    """The dataset the adapter was trained on, from the run card's copy of the data manifest."""
    return short_hash((card.get("data") or {}).get("manifest_sha256"))


def data_hash(data: Path) -> str | None:
    """The dataset in `data`, from its manifest's per-file sha256 map (None without a manifest)."""
    manifest = data / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        return short_hash(json.loads(manifest.read_text(encoding="utf-8")).get("sha256"))
    except (json.JSONDecodeError, AttributeError):
        raise ConfigError([f"{manifest}: not a JSON object with a 'sha256' map; rebuild it with make data"]
                          ) from None


def check_same_data(run: Path, card: dict[str, Any], data: Path, allow_other: bool) -> tuple[str | None, ...]:
    """(trained, scored) hashes; refuses to score an adapter on data other than its training data.

    A later `make data SEED=7` overwrites data/default, and a seed-13 adapter scored on it would be
    scored on a heldout split that overlaps what it was trained on, while looking like any other run.
    """
    trained, scored = trained_hash(card), data_hash(data)
    if trained != scored and not allow_other:
        raise ConfigError([f"{data}: dataset {scored or '(no manifest.json)'} is not the dataset "
                           f"{run / 'run_card.json'} was trained on ({trained or 'not recorded'}); pass the "
                           "--data it was trained on, or --allow-other-data to score it on this one anyway"])
    return trained, scored
