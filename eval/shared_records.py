"""Score several runs on the same records when they were trained on different dataset versions.

Usage: python -m eval.shared_records --run runs/a --run runs/b [--splits heldout test] [--out DIR]

Two dataset versions have different heldout splits and their `make eval` figures do not compare: one
model may be scored on a template the other trained on. A template's side is a hash of
(seed, id), so adding templates changes only the added ones' sides (before, a seeded shuffle re-dealt
the whole split), but the records still differ. This builds the records every run can be
scored on fairly and scores each run's fine-tuned model on them with make eval's decoding
(eval/config.yml) and SQL (sql/scoring):

  heldout  records of any run's heldout split whose template no run trained on and none of whose title
           or person values (taxonomy group `names`) occurs in any run's training split
  test     (and validation) records of any run's split whose template every run trained on

Records without a template id (an LLM backend wrote them) pass the template checks; the name check and
the check below still apply. Any record whose query (normalized as synth's dedup does) is in a run's
training split is left out.
A record that several datasets hold (same query and labels) counts once; an id that names different
records in two datasets gets its dataset's position as a prefix ("1:r0-000123").

Writes under --out (default runs/shared-<run>-<run>...):
  records/<split>.jsonl                 the shared records, with counts of what was left out and why
  <run name>/<split>/                   predictions.parquet, metrics.json, tables/ (as make eval writes)
  summary.json, summary.md              one row per run and split, and 95% intervals for each run
                                        and for each run's difference from the first, by resampling
                                        templates (eval/uncertainty.py)
A run whose own make eval already decoded exactly these records with the same settings (its
predict_inputs.json stamp matches) is not decoded again. With one run this scores it on its own splits.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.config import DEFAULT_CONFIG, EvalConfig, load_eval_config
from eval.report import headline_table, names_any_type_f1
from eval.score import entity_group, score_predictions
from eval.uncertainty import bootstrap, format_interval
from schemas import ConfigError, Taxonomy, load_taxonomy, read_jsonl
from schemas.outputs import claim_output_folder
from synth.dedup import normalize_query

IN_DISTRIBUTION = ("test", "validation")
SPLITS = ("heldout", *IN_DISTRIBUTION)
NAME_TYPES_COLUMNS = ("title", "actor", "director", "character")


@dataclass
class Shared:
    split: str
    records: list[dict[str, Any]]
    left_out: Counter[str] = field(default_factory=Counter)
    counted_once: int = 0  # records an earlier dataset also holds (same query and labels): kept once


def template_of(record: Mapping[str, Any]) -> str | None:
    return (record.get("meta") or {}).get("template_id")


def name_values(records: Iterable[Mapping[str, Any]], names: set[str]) -> set[str]:
    """Case-folded values of name-type entities; the role is ignored, since a heldout actor who is a
    director in training is not an unseen name."""
    return {e["value"].casefold() for r in records for e in r.get("entities", []) if e["type"] in names}


def content(record: Mapping[str, Any]) -> str:
    return json.dumps([record["query"], record["intent"], record.get("entities", [])], sort_keys=True)


def shared_records(trains: Sequence[Sequence[Mapping[str, Any]]],
                   splits: Sequence[Sequence[Mapping[str, Any]]], split: str, names: set[str]) -> Shared:
    """The records of `split` (one list per dataset, in run order) that every run may be scored on.

    `trains` holds each dataset's training records: their templates and name values decide what is
    unseen. Order is kept (dataset by dataset, file order), so the same inputs give the same file.
    """
    if split not in SPLITS:
        raise ConfigError([f"split {split!r}: expected one of {', '.join(SPLITS)}"])
    trained = [{t for r in train if (t := template_of(r)) is not None} for train in trains]
    seen_names = set().union(*(name_values(train, names) for train in trains))
    # Each dataset dedups within itself, not across versions: a short query may sit in another's train.
    seen_queries = {normalize_query(r["query"]) for train in trains for r in train}
    out = Shared(split, [])
    ids: set[str] = set()
    contents: set[str] = set()
    for i, records in enumerate(splits):
        for rec in records:
            t = template_of(rec)
            if split == "heldout":
                if t is not None and any(t in tr for tr in trained):
                    out.left_out["template trained on by a run"] += 1
                    continue
                if name_values([rec], names) & seen_names:
                    out.left_out["title or person trained on by a run"] += 1
                    continue
            elif t is not None and not all(t in tr for tr in trained):
                out.left_out["template not trained on by every run"] += 1
                continue
            if normalize_query(rec["query"]) in seen_queries:
                out.left_out["query trained on by a run"] += 1
                continue
            key = content(rec)
            if key in contents:
                out.counted_once += 1
                continue
            contents.add(key)
            rid = str(rec["id"])
            if rid in ids:
                rid = f"{i}:{rid}"
            ids.add(rid)
            out.records.append({**rec, "id": rid})
    return out


def training_data(run: Path, card: Mapping[str, Any]) -> Path:
    """The folder holding the dataset the run was trained on: the run card's data.dir, or, when that
    folder has since been rebuilt, a sibling folder with the recorded manifest hash (a dataset kept
    under another name, e.g. data/default-prev). Anything else is refused: its templates would not be
    the ones the run saw."""
    from eval.runs import data_hash, trained_hash

    recorded = Path((card.get("data") or {}).get("dir") or "data/default")
    want = trained_hash(dict(card))
    if want is None:
        raise ConfigError([f"{run / 'run_card.json'}: no training data hash recorded; "
                           "retrain with make train"])
    candidates = [recorded, *sorted(p for p in recorded.parent.glob("*/") if p != recorded)]
    for folder in candidates:
        try:
            found = data_hash(folder) if (folder / "train.jsonl").is_file() else None
        except ConfigError:  # a broken manifest elsewhere under data/ is not this run's problem
            found = None
        if found == want:
            if folder != recorded:
                print(f"  {run}: trained on {recorded} ({want}); that folder has changed, using {folder}")
            return folder
    raise ConfigError([f"{run / 'run_card.json'}: no folder under {recorded.parent} holds the dataset it was "
                       f"trained on ({want}); rebuild it with make data and the run's data recipe"])


def run_inputs(run: Path, tax: Taxonomy) -> tuple[dict[str, Any], Path, dict[str, Any]]:
    """(run card, training data folder, predict inputs)."""
    from eval.pipeline import model_inputs
    from eval.runs import read_run_card

    card = read_run_card(run)
    data = training_data(run, card)
    return card, data, model_inputs("finetuned", run, card, data, tax)


def reuse_own_eval(run: Path, split: str, out: Path, stamp: Mapping[str, Any]) -> bool:
    """Copy the run's own make-eval predictions when they were made from exactly these inputs."""
    from eval.pipeline import REUSED

    own = run / "eval" / "finetuned" / split
    path = own / "predict_inputs.json"
    if not (own / "predictions.parquet").is_file() or not path.is_file():
        return False
    if json.loads(path.read_text(encoding="utf-8")) != stamp:
        return False
    out.mkdir(parents=True, exist_ok=True)
    for name in REUSED:  # the run's files replace whatever an earlier comparison left
        (out / name).unlink(missing_ok=True)
        if (own / name).is_file():
            shutil.copy2(own / name, out / name)
    return True


def summary_row(run: Path, split: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    ent = metrics["entities"]
    per = ent["per_class"]
    row = {"run": str(run), "split": split, "n": metrics["n_queries"],
           "intent_f1": metrics["intent"]["macro_avg"]["f1"], "entity_f1": ent["macro_avg"]["f1"],
           "names_f1": ent["by_group"]["names"]["macro_avg"]["f1"],
           "names_any_type_f1": names_any_type_f1(metrics),
           "closed_vocabulary_f1": ent["by_group"]["closed_vocabulary"]["macro_avg"]["f1"],
           "exact_match": metrics["exact_match"]}
    return row | {t: per[t]["f1"] if t in per else None for t in NAME_TYPES_COLUMNS}


def markdown(rows: Sequence[Mapping[str, Any]], sets: Sequence[Shared], runs: Sequence[Path],
             intervals: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [headline_table(list(rows)), ""]
    for s in sets:
        why = ", ".join(f"{n} {k}" for k, n in s.left_out.most_common()) or "none"
        lines.append(f"- {s.split}: {len(s.records)} shared records ({s.counted_once} more held by several "
                     f"datasets, counted once); left out: {why}")
    for split, iv in intervals.items():
        pct = round(iv["level"] * 100)
        lines.append(f"- {split}, {pct}% intervals from {iv['resamples']} resamples of its {iv['clusters']} "
                     "templates (eval/uncertainty.py):")
        for run, m in zip(runs, iv["runs"], strict=True):
            lines.append(f"  - {run}: " + ", ".join(f"{k} {format_interval(v)}" for k, v in m.items()))
        for run, d in zip(runs[1:], iv["differences"], strict=True):
            lines.append(f"  - {run} minus {runs[0]}: " + ", ".join(f"{k} {format_interval(v, '+.3f')}"
                                                                   for k, v in d.items()))
    return "\n".join(lines) + "\n"


def compare(runs: Sequence[Path], splits: Sequence[str], out: Path, cfg: EvalConfig, tax: Taxonomy,
            force: bool = False) -> list[dict[str, Any]]:
    from eval.pipeline import predict, stamp_for

    names = {t for t in tax.entity_names if entity_group(tax, t) == "names"}
    inputs = [run_inputs(r, tax) for r in runs]
    trains = [read_jsonl(data / "train.jsonl") for _, data, _ in inputs]
    sets = []
    for split in splits:
        per_data = [read_jsonl(data / f"{split}.jsonl") for _, data, _ in inputs]
        s = shared_records(trains, per_data, split, names)
        if not s.records:
            raise ConfigError([f"{split}: no record is shared by every run ({dict(s.left_out)})"])
        (out / "records").mkdir(parents=True, exist_ok=True)
        (out / "records" / f"{split}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in s.records), encoding="utf-8")
        sets.append(s)
    rows, parquets = [], {s.split: [] for s in sets}
    for run, (_card, data, inp) in zip(runs, inputs, strict=True):
        for s in sets:
            dest = out / run.name / s.split
            stamp = stamp_for("finetuned", s.records, cfg, inp, tax)
            if not force and reuse_own_eval(run, s.split, dest, stamp):
                print(f"  {run}: {s.split} reuses its own make-eval predictions (same records and settings)")
            print(f"{run} on {len(s.records)} shared {s.split} records")
            parquet = predict("finetuned", s.records, dest, cfg, inp, None, tax, force)
            metrics = score_predictions(parquet, dest, tax, {r["id"]: r["query"] for r in s.records},
                                        meta={"run": str(run), "data": str(data),
                                              "shared_with": [str(r) for r in runs if r != run],
                                              "left_out": dict(s.left_out)})
            rows.append(summary_row(run, s.split, metrics))
            parquets[s.split].append(parquet)
    # Which differences are real: a bootstrap over templates, the same resamples for every run.
    intervals = {s.split: bootstrap(parquets[s.split], s.records, tax, seed=cfg.sample_seed) for s in sets}
    (out / "summary.json").write_text(json.dumps({"runs": [str(r) for r in runs], "rows": rows,
                                                  "left_out": {s.split: dict(s.left_out) for s in sets},
                                                  "counted_once": {s.split: s.counted_once for s in sets},
                                                  "intervals": intervals},
                                                 indent=2) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(markdown(rows, sets, runs, intervals), encoding="utf-8")
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", dest="runs", action="append", type=Path, required=True,
                    help="a trained run folder (repeat: two or more to compare)")
    ap.add_argument("--splits", nargs="+", default=["heldout", "test"], choices=SPLITS)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="decode settings (eval/config.yml)")
    ap.add_argument("--force", action="store_true", help="decode again even where predictions match")
    args = ap.parse_args(argv)
    if len({r.name for r in args.runs}) != len(args.runs):
        print("error: --run folders must have different names (each gets a folder under --out)",
              file=sys.stderr)
        raise SystemExit(2)
    out = args.out or Path("runs") / ("shared-" + "-".join(r.name for r in args.runs))
    try:
        claim_output_folder(out, (("summary.json", '"runs"'),))
        cfg = load_eval_config(args.config)
        rows = compare(args.runs, list(dict.fromkeys(args.splits)), out, cfg, load_taxonomy(), args.force)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print((out / "summary.md").read_text(encoding="utf-8"), end="")
    print(f"wrote {out / 'summary.md'} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
