"""Run one recipe over a grid of overrides: one run folder, resolved config and run card per point.

Usage: python -m train.sweep --recipe recipes/cpu-smollm2-135m-lora.yml --data data/default
                             --grid recipes/sweep.yml [--out runs/sweep-NAME]

The grid file is strict YAML with two keys: `grid` (key -> list of values; every combination is a
point) and `fixed` (key -> value, applied to every point). Points already holding a run_card.json are
skipped. Every point is checked before the first one trains, so a bad value fails in seconds.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from pathlib import Path
from typing import Any

from schemas.config import ConfigError, load_yaml, unknown_keys
from schemas.outputs import check_output_folder, mark_output_folder
from train.run import RunRequest, exit_status, resolve, train

GRID_KEYS = ("grid", "fixed")
SUMMARY = ("point", "run_dir", "final_train_loss", "final_eval_loss", "train_tokens_per_s", "wall_time_s")


def load_grid(path: Path) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    raw = load_yaml(path) or {}
    problems = unknown_keys(raw, GRID_KEYS, str(path)) if isinstance(raw, dict) else [
        f"{path}: expected a mapping with keys {', '.join(GRID_KEYS)}"]
    grid = raw.get("grid") or {} if isinstance(raw, dict) else {}
    fixed = raw.get("fixed") or {} if isinstance(raw, dict) else {}
    if not isinstance(grid, dict) or not grid:
        problems.append(f"{path}: grid: expected key -> list of values, e.g. lora_r: [8, 16, 32]")
    else:
        problems += [f"{path}: grid.{k}: expected a non-empty list, got {v!r}"
                     for k, v in grid.items() if not isinstance(v, list) or not v]
    if not isinstance(fixed, dict):
        problems.append(f"{path}: fixed: expected key -> value, got {fixed!r}")
    if problems:
        raise ConfigError(problems)
    return grid, fixed


def _fmt(value: Any) -> str:
    """YAML-ish scalar for --set (so it parses back to the same value)."""
    return json.dumps(value) if not isinstance(value, str) else value


def expand(grid: dict[str, list[Any]], fixed: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(folder name, --set items) per point, in grid order."""
    points = []
    for combo in itertools.product(*grid.values()):
        pairs = list(zip(grid, combo, strict=True))
        name = "_".join(f"{k}-{v}" for k, v in pairs).replace("/", "-")
        sets = [f"{k}={_fmt(v)}" for k, v in fixed.items()] + [f"{k}={_fmt(v)}" for k, v in pairs]
        points.append((name, sets))
    return points


def run_sweep(recipe: Path, data: Path, grid_path: Path, out: Path | None = None) -> Path:
    grid, fixed = load_grid(grid_path)
    out = out or Path("runs") / f"sweep-{recipe.stem}"
    check_output_folder(out, (("sweep.csv", "point,"),))
    requests = [(name, RunRequest(recipe=recipe, data=data, run=out / name, sets=sets))
                for name, sets in expand(grid, fixed)]
    problems: list[str] = []
    for name, req in requests:
        if (req.run / "run_card.json").exists():
            continue  # finished earlier: skipped below, and --run refuses finished folders
        try:
            resolve(req)
        except ConfigError as exc:
            problems += [f"[{name}] {p}" for p in exc.problems]
    if problems:
        raise ConfigError(problems)
    mark_output_folder(out)
    for i, (name, req) in enumerate(requests, 1):
        if (req.run / "run_card.json").exists():
            print(f"[{i}/{len(requests)}] {name}: done already, skipped", flush=True)
            continue
        print(f"[{i}/{len(requests)}] {name}", flush=True)
        train(req)
    return write_summary(out, [name for name, _ in requests])


def write_summary(out: Path, names: list[str]) -> Path:
    path = out / "sweep.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY)
        writer.writeheader()
        for name in names:
            card = json.loads((out / name / "run_card.json").read_text())
            writer.writerow({"point": name, **{k: card.get(k) for k in SUMMARY[1:]}})
    print(path.read_text(), flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.sweep", description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--grid", type=Path, default=Path("recipes/sweep.yml"))
    ap.add_argument("--out", type=Path, default=None, help="default: runs/sweep-<recipe stem>")
    a = ap.parse_args(argv)
    return exit_status(run_sweep, a.recipe, a.data, a.grid, a.out)


if __name__ == "__main__":
    sys.exit(main())
