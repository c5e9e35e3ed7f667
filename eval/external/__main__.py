"""python -m eval.external: import a labelled corpus, map its labels, score a run on it (evaluation only).

See eval/external/__init__.py for the formats and the label map.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from eval.config import DEFAULT_CONFIG as EVAL_CONFIG
from eval.config import load_eval_config
from eval.external.corpus import read_corpus
from eval.external.labels import load_label_map, to_records
from eval.external.scoring import score_external, write_external_report, write_records
from eval.uncertainty import format_interval
from schemas import ConfigError, load_taxonomy
from schemas.atomic import atomic_folder
from schemas.outputs import check_output_folder

# An external-corpus folder written before output folders carried the marker (schemas.outputs).
EXTERNAL_MARK = (("external.json", "\"import\""),)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.external", description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True, type=Path, help="the corpus file (.bio/.conll/.txt or .jsonl)")
    ap.add_argument("--map", required=True, type=Path, help="label map YAML (eval/external/maps/*.yml)")
    ap.add_argument("--run", type=Path, help="run folder (default: newest under runs/ with an adapter)")
    ap.add_argument("--systems", default="finetuned", help="comma-separated: finetuned, baseline")
    ap.add_argument("--train-data", type=Path,
                    help="synthetic dataset folder: the baseline fits on its train split; the fine-tuned "
                         "run must have been trained on it (default: the run card's data.dir)")
    ap.add_argument("--allow-other-data", action="store_true",
                    help="score the fine-tuned run although --train-data is not its training dataset")
    ap.add_argument("--eval-config", type=Path, default=EVAL_CONFIG, help="decode and baseline settings")
    ap.add_argument("--limit", type=int, help="first N queries only")
    ap.add_argument("--import-only", action="store_true", help="write records.jsonl and import.json only")
    ap.add_argument("--out", type=Path, help="output folder (default: RUN/external/<map name>, "
                                               "with --import-only data/external/<map name>)")
    ap.add_argument("--force", action="store_true", help="decode again even when inputs are unchanged")
    args = ap.parse_args(argv)
    try:
        tax = load_taxonomy()
        lmap = load_label_map(args.map, tax)
        ecfg = load_eval_config(args.eval_config)
        corpus = read_corpus(args.corpus)
        corpus.queries = corpus.queries[: args.limit]
        records, summary = to_records(corpus, lmap)
        systems = tuple(s.strip() for s in args.systems.split(",") if s.strip())
        if not systems or any(s not in ("finetuned", "baseline") for s in systems):
            raise ConfigError([f"--systems: '{args.systems}' must list finetuned and/or baseline"])
        if args.import_only:
            out = args.out or Path("data/external") / lmap.name
        else:
            if args.run is None:
                from eval.runs import newest_run

                args.run = newest_run()
            out = args.out or args.run / "external" / lmap.name
        # Built beside the previous output and swapped in whole; unchanged predictions are reused.
        from eval.pipeline import REUSED, SELF_PATHS

        check_output_folder(out, EXTERNAL_MARK)  # before the corpus is decoded
        with atomic_folder(out, carry=[f"**/{n}" for n in REUSED],
                           relocate=[f"**/{n}" for n in SELF_PATHS], legacy=EXTERNAL_MARK) as tmp:
            write_records(records, summary, tmp)
            result: dict[str, Any] = {"name": lmap.name, "import": summary}
            if not args.import_only:
                result["run"] = str(args.run)
                result["systems"] = score_external(records, lmap, summary, args.run, systems, tax, tmp,
                                                   ecfg, args.force, args.train_data,
                                                   args.allow_other_data)
            write_external_report(result, tmp)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"imported {summary['queries']} queries from {summary['corpus']} ({summary['format']}); "
          f"unmapped labels ignored: {json.dumps(summary['unmapped_labels'])}")
    for system, r in result.get("systems", {}).items():
        intent = "n/a" if r["intent_macro_f1"] is None else f"{r['intent_macro_f1']:.3f}"
        types = ", ".join(summary["mapped_types"])
        entity = r["intervals"]["metrics"]["entity_f1"] if r.get("intervals") else None
        entity_text = format_interval(entity) if entity else f"{r['entity_macro_f1']:.3f}"
        print(f"{system}: entity macro-F1 {entity_text} on {types}; intent macro-F1 {intent}")
    print(f"wrote {out / 'external.md'}, {out / 'external.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
