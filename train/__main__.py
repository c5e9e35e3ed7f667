"""Fine-tune with an axolotl recipe, recording everything needed to reproduce the run.

Usage:
  python -m train --recipe recipes/cpu-smollm2-135m-lora.yml --data data/default
                  [--run runs/NAME] [--set key=value ...] [--max-steps N] [--resume auto|yes|no]

Steps: check the recipe (unknown keys, axolotl's schema, this machine's hardware) before any model
is loaded; apply --set overrides (YAML scalars, dotted keys: --set special_tokens.pad_token=x);
point the datasets at DATA/chat/*.jsonl; write the resolved config to the run folder; run
`axolotl train` on it (offline, --launcher python); write run_card.json and loss_curve.csv.
See train/run.py for how the run folder is chosen. A rerun into the folder of an interrupted run
resumes from its newest checkpoint (every `save_steps`) when the config is unchanged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from train.run import RunRequest, exit_status, train


def parse_args(argv: list[str] | None = None) -> RunRequest:
    ap = argparse.ArgumentParser(prog="python -m train", description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", type=Path, required=True, help="axolotl recipe, e.g. recipes/*.yml")
    ap.add_argument("--data", type=Path, required=True, help="dataset folder from `make data`")
    ap.add_argument("--run", type=Path, default=None, help="run folder (default: runs/<recipe stem>)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override a recipe key (repeatable), e.g. --set lora_r=32")
    ap.add_argument("--max-steps", type=int, default=None, help="shorthand for --set max_steps=N")
    ap.add_argument("--resume", choices=("auto", "yes", "no"), default="auto",
                    help="resume an interrupted run from its newest checkpoint (default auto: when the "
                         "config is unchanged)")
    a = ap.parse_args(argv)
    return RunRequest(recipe=a.recipe, data=a.data, run=a.run, sets=a.sets, max_steps=a.max_steps,
                      resume=a.resume)


def main(argv: list[str] | None = None) -> int:
    return exit_status(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
