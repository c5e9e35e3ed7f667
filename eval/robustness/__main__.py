"""python -m eval.robustness: see eval/robustness/__init__.py for usage and outputs."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from eval.config import DEFAULT_CONFIG as EVAL_CONFIG
from eval.config import load_eval_config
from eval.robustness.config import DEFAULT_CONFIG, SYSTEMS, load_robustness_config
from eval.robustness.run import run_robustness
from schemas import ConfigError, load_taxonomy


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.robustness", description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="run folder (default: newest under runs/ with an adapter)")
    ap.add_argument("--data", type=Path, default=Path("data/default"))
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--eval-config", type=Path, default=EVAL_CONFIG, help="decode and baseline settings")
    ap.add_argument("--limit", type=int, help="queries per set (0 = all); default from the config")
    ap.add_argument("--systems", help=f"comma-separated, from {', '.join(SYSTEMS)}")
    ap.add_argument("--force", action="store_true", help="decode again even when inputs are unchanged")
    ap.add_argument("--allow-other-data", action="store_true",
                    help="score the fine-tuned run on --data even though it was trained on another dataset")
    args = ap.parse_args(argv)
    try:
        cfg = load_robustness_config(args.config)
        if args.limit is not None:
            cfg = replace(cfg, limit=args.limit or None)
        if args.systems:
            systems = tuple(s.strip() for s in args.systems.split(",") if s.strip())
            if not systems or any(s not in SYSTEMS for s in systems):
                raise ConfigError([f"--systems: '{args.systems}' must list some of {', '.join(SYSTEMS)}"])
            cfg = replace(cfg, systems=systems)
        if args.run is None:
            from eval.runs import newest_run

            args.run = newest_run()
        result = run_robustness(args.run, args.data, cfg, load_eval_config(args.eval_config), load_taxonomy(),
                                args.force, args.allow_other_data)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for r in result["rows"]:
        print(f"{r['system']:9} {r['set']:24} intent F1 {r['intent_macro_f1']:.3f} "
              f"(drop {r['intent_drop']:+.3f})  entity F1 {r['entity_macro_f1']:.3f} "
              f"(drop {r['entity_drop']:+.3f})")
    print(f"report: {args.run / 'robustness' / 'robustness.md'} and .html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
