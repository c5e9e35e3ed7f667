"""Generate a verified synthetic dataset from a data recipe.

Usage:
  python -m synth --config recipes/data/default.yml [--n N] [--seed S] [--out DIR] [--check] [--quiet]

--check validates the recipe (keys, labels, files) and exits without generating.

Exit codes: 0 written; 2 bad recipe; 3 the openai endpoint is down (circuit breaker); 4 fewer records
than asked and than min_records allows. On any failure the previous dataset in --out is kept as it was.
"""

from __future__ import annotations

import argparse
import json
import sys

from schemas import ConfigError
from synth.config import load_data_config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m synth", description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--n", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--out")
    ap.add_argument("--check", action="store_true", help="validate the recipe and exit")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    from synth.pipeline import Shortfall, build_dataset
    from synth.types import BackendDown

    try:
        cfg = load_data_config(args.config, {"n": args.n, "seed": args.seed, "out": args.out})
        if args.check:
            print(f"OK {cfg.path}: backend {cfg.backend}, n={cfg.n}, seed={cfg.seed}")
            return 0
        manifest = build_dataset(cfg, progress=not args.quiet)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BackendDown as exc:
        print(f"error: {exc}; {cfg.out} left as it was, answers so far are cached (a rerun resumes)",
              file=sys.stderr)
        return 3
    except Shortfall as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    c = manifest["counts"]
    print(f"wrote {c['records']} records to {cfg.out} ({json.dumps(c['by_split'])})")
    print(f"rejected: {json.dumps(manifest['rejections'])}; duplicates dropped: "
          f"{json.dumps(manifest['duplicates_dropped'])}")
    short = manifest["shortfall"]
    if short["kept"] < short["requested"]:
        print(f"warning: kept {short['kept']} of {short['requested']} records asked "
              f"(min_records allows {short['min_records']})", file=sys.stderr)
    for w in manifest["balance"]["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    if why := c["exclusions"].get("skipped_reason"):
        print(f"warning: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
