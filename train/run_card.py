"""run_card.json and loss_curve.csv: what was trained, on what, with what, how fast, how well.

Losses come from the trainer's log_history (trainer_state.json, saved with the final checkpoint).
Throughput is computed from the tokenised training set axolotl cached in the run folder, because the
trainer's own samples/s counts packed rows (padding included) and its runtime includes evaluation.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import platform
import re
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "transformers", "peft", "axolotl", "accelerate", "datasets", "trl")


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def trainer_state(run_dir: Path, since: float = 0.0) -> dict[str, Any]:
    """The latest checkpoint's trainer_state.json written after `since` (a reused folder may hold
    checkpoints of a crashed earlier run); {} if this run saved none."""
    fresh = (p for p in run_dir.glob("checkpoint-*/trainer_state.json") if p.stat().st_mtime >= since)
    states = sorted(fresh, key=lambda p: int(p.parent.name.rsplit("-", 1)[-1]))
    return json.loads(states[-1].read_text()) if states else {}


def loss_curve(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per logged step: step, train loss and/or eval loss, learning rate."""
    rows: dict[int, dict[str, Any]] = {}
    for entry in log_history:
        step = int(entry.get("step", 0))
        row = rows.setdefault(step, {"step": step, "loss": None, "eval_loss": None, "learning_rate": None})
        for key in ("loss", "eval_loss", "learning_rate"):
            if key in entry:
                row[key] = entry[key]
    return [rows[s] for s in sorted(rows) if rows[s]["loss"] is not None or rows[s]["eval_loss"] is not None]


def write_loss_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "loss", "eval_loss", "learning_rate"])
        writer.writeheader()
        writer.writerows(rows)


def data_provenance(data_dir: Path) -> dict[str, Any]:
    manifest_path = data_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    return {
        "name": manifest.get("name", data_dir.name),
        "dir": str(data_dir),
        "manifest_sha256": manifest.get("sha256", {}),
        "system_prompt": manifest.get("system_prompt"),
        "seed": (manifest.get("config") or {}).get("seed", manifest.get("seed")),
    }


def tokenised_train_set(run_dir: Path) -> list[int]:
    """Token counts per example of the tokenised train split axolotl cached in <run>/prepared
    (the largest cached split; the eval split is a small slice)."""
    from datasets import load_from_disk

    best: list[int] = []
    for state in (run_dir / "prepared").glob("*/state.json"):
        ds = load_from_disk(str(state.parent))
        if "input_ids" in ds.column_names and len(ds) > len(best):
            best = [len(x) for x in ds["input_ids"]]
    return best


def logged_train_runtime(log_path: Path) -> float | None:
    """The trainer's final `train_runtime`, which it logs after the last checkpoint is written, so it
    is only in the printed log (a dict with quoted values), never in trainer_state.json."""
    if not log_path.is_file():
        return None
    found = re.findall(r"'train_runtime': '?([0-9.]+)'?", log_path.read_text("utf-8", errors="replace"))
    return float(found[-1]) if found else None


def throughput(state: dict[str, Any], history: list[dict[str, Any]], lengths: list[int],
               train_s: float | None) -> dict[str, Any]:
    """Examples and tokens per second of training proper (evaluation time taken out).

    The trainer's `epoch` is the fraction of the packed train set consumed, so examples trained =
    epoch x rows, exact up to the last partial packed row; tokens exclude padding."""
    eval_s = sum(e.get("eval_runtime", 0.0) for e in history)
    if not train_s or not lengths:
        return {"train_runtime_s": train_s, "eval_runtime_s": round(eval_s, 1)}
    step_s = max(train_s - eval_s, 1e-9)
    mean_len = sum(lengths) / len(lengths)
    examples = float(state.get("epoch") or 0.0) * len(lengths)
    steps = int(state.get("global_step") or 0)
    return {
        "train_runtime_s": round(train_s, 1),
        "eval_runtime_s": round(eval_s, 1),
        "seconds_per_step": round(step_s / steps, 2) if steps else None,
        "examples_trained": round(examples),
        "examples_per_s": round(examples / step_s, 3),
        "train_tokens_per_s": round(examples * mean_len / step_s, 1),
        "mean_tokens_per_example": round(mean_len, 1),
        "train_rows": len(lengths),
    }


def write_run_card(run_dir: Path, req: Any, cfg: dict[str, Any], wall_s: float, cpu_bf16: bool,
                   since: float = 0.0) -> Path:
    state = trainer_state(run_dir, since)
    history = state.get("log_history", [])
    rows = loss_curve(history)
    write_loss_csv(rows, run_dir / "loss_curve.csv")
    train_losses = [r["loss"] for r in rows if r["loss"] is not None]
    eval_losses = [r["eval_loss"] for r in rows if r["eval_loss"] is not None]
    card = {
        "recipe": str(req.recipe),
        "overrides": list(req.sets) + ([f"max_steps={req.max_steps}"] if req.max_steps is not None else []),
        "run_dir": str(run_dir),
        "data": data_provenance(Path(req.data)),
        "seeds": {"seed": cfg.get("seed"), "data_seed": cfg.get("data_seed", cfg.get("seed"))},
        "versions": versions(),
        "cpu_bf16_override": cpu_bf16,
        "wall_time_s": round(wall_s, 1),
        "steps": int(state.get("global_step") or 0),
        **throughput(state, history, tokenised_train_set(run_dir),
                     logged_train_runtime(run_dir / "train.log")),
        "first_train_loss": train_losses[0] if train_losses else None,
        "final_train_loss": train_losses[-1] if train_losses else None,
        "first_eval_loss": eval_losses[0] if eval_losses else None,
        "final_eval_loss": eval_losses[-1] if eval_losses else None,
        "loss_curve": rows,
        "resolved_config": cfg,
    }
    path = run_dir / "run_card.json"
    path.write_text(json.dumps(card, indent=2, default=str) + "\n", "utf-8")
    return path
