"""Validate axolotl recipes without a model, a GPU or the network.

Usage: python -m train.check recipes/*.yml

Prints `OK <n> recipes checked` (plus `, 1 sweep grid` for recipes/sweep.yml), or one line per
problem (file, key, problem, fix) on stderr for every recipe at once and exits 2. Checks: strict YAML, unknown
keys with a did-you-mean (axolotl drops them silently), axolotl's own schema, and that any
`deepspeed:` JSON or chat-template file exists.
Hardware (CUDA, flash-attn, bitsandbytes) is not checked here: a GPU recipe is a valid recipe, and
`python -m train` refuses it on the wrong machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schemas.config import ConfigError, load_yaml, unknown_keys
from train.recipe import load_recipe, prepare_axolotl_import, recipe_problems


def file_problems(cfg: dict, where: str) -> list[str]:
    """Files a recipe names that must ship with the repo (datasets and models come later)."""
    problems = []
    ds = cfg.get("deepspeed")
    if isinstance(ds, str) and not Path(ds).is_file():
        problems.append(f"{where}: deepspeed: file '{ds}' not found; point it at recipes/deepspeed/*.json")
    jinja = cfg.get("chat_template_jinja")
    if isinstance(jinja, str) and jinja.endswith(".jinja") and not Path(jinja).is_file():
        problems.append(f"{where}: chat_template_jinja: file '{jinja}' not found")
    return problems


def check_recipe(path: str | Path) -> list[str]:
    """All static problems in one recipe file; [] when it is valid."""
    where = str(path)
    try:
        cfg = load_recipe(path)
    except ConfigError as exc:
        return exc.problems
    return recipe_problems(cfg, where) + file_problems(cfg, where)


def is_sweep_grid(cfg: object) -> bool:
    """recipes/sweep.yml sits beside the recipes (so recipes/*.yml matches it) but is a grid file."""
    return isinstance(cfg, dict) and "grid" in cfg and "base_model" not in cfg


def check_sweep_grid(path: str | Path) -> list[str]:
    """Structure (train.sweep.load_grid) plus known axolotl keys, with a did-you-mean for typos."""
    from train.sweep import load_grid

    try:
        grid, fixed = load_grid(Path(path))
    except ConfigError as exc:
        return exc.problems
    prepare_axolotl_import()
    from axolotl.utils.schemas.config import AxolotlInputConfig

    allowed = [n for f, info in AxolotlInputConfig.model_fields.items() for n in (f, info.alias) if n]
    problems = []
    for section, keys in (("grid", grid), ("fixed", fixed)):
        tops = {str(k).split(".")[0]: k for k in keys}
        problems += [p.replace("unknown key", f"{section}: unknown key") for p in
                     unknown_keys({k: None for k in tops}, allowed, str(path))]
    return problems


def check_files(paths: list[str | Path]) -> tuple[list[str], int, int]:
    """Problems in all files, number of recipes, number of sweep grids."""
    problems: list[str] = []
    recipes = grids = 0
    for path in paths:
        try:
            is_grid = is_sweep_grid(load_yaml(path))
        except ConfigError as exc:
            problems += exc.problems
            recipes += 1
            continue
        grids += is_grid
        recipes += not is_grid
        problems += check_sweep_grid(path) if is_grid else check_recipe(path)
    return problems, recipes, grids


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipes", nargs="+", type=Path)
    args = ap.parse_args(argv)
    problems, recipes, grids = check_files(args.recipes)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    print(f"OK {recipes} recipes checked" + (f", {grids} sweep grid" if grids else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
