"""Evaluate a training run: the fine-tuned model, the zero-shot base model and a non-LLM baseline, per split.

Usage: python -m eval [--run runs/x] [--data data/default] [--splits test,heldout] [--limit N]
                      [--systems finetuned,zero_shot,baseline] [--config eval/config.yml] [--force]
                      [--allow-other-data]

--run defaults to the newest run folder under runs/ holding an adapter (adapter_model.safetensors).
Every knob is in eval/config.yml; the flags override it for one call. For each system and split:
  runs/x/eval/<system>/<split>/ predictions.parquet, outputs.jsonl, metrics.json, tables/, setup.sql
then runs/x/eval/report.md and report.html, and the headline table (system x split) is printed.
Predictions are reused when their inputs (ids, model, adapter, decoding settings) are unchanged;
--force decodes again. --data must hold the dataset the run was trained on (its manifest hash is in
the run card); --allow-other-data scores it on another one deliberately, and metrics.json says so.
The CPU default scores a seeded subset of `limit` queries per split, and says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

from decoding.openai_client import EndpointDown
from eval.baselines import Baseline, predict_baseline
from eval.config import DEFAULT_CONFIG, SYSTEMS, EvalConfig, load_eval_config
from eval.report import headline_rows, headline_table, write_report
from eval.retrieval import add_retrieval, retrieval_table
from eval.score import METRICS_MARK, score_predictions
from eval.uncertainty import add_intervals
from schemas import SPLITS, ConfigError, Taxonomy, load_taxonomy, read_jsonl
from schemas.atomic import atomic_folder
from schemas.outputs import check_output_folder

ADAPTER_FILE = "adapter_model.safetensors"
BASELINE_MODEL = "tfidf-logreg + gazetteer"
# A <system>/<split> folder is rebuilt beside itself and swapped in whole (schemas.atomic); these
# files of the previous one come along so unchanged predictions are reused, not decoded again.
REUSED = ("predictions.parquet", "predict_inputs.json", "outputs.jsonl", "summary.json")
SELF_PATHS = ("setup.sql", "metrics.json")  # name their own folder: rewritten to the final path
EVAL_MARK = METRICS_MARK  # what marks an eval folder written before the marker file existed


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


def load_split(data: Path, split: str, limit: int | None, seed: int,
               records: list[dict[str, Any]] | None = None) -> tuple[list[dict[str, Any]], int]:
    """The split's records, or a seeded random subset of `limit` in file order; plus the split's size.

    Subsets come from one seeded shuffle, so a smaller limit picks a subset of a larger one's queries.
    """
    records = read_jsonl(data / f"{split}.jsonl") if records is None else records
    if limit is None or len(records) <= limit:
        return records, len(records)
    order = list(range(len(records)))
    random.Random(f"{seed}:{split}").shuffle(order)
    return [records[i] for i in sorted(order[:limit])], len(records)


def model_inputs(system: str, run: Path, card: dict[str, Any], data: Path, tax: Taxonomy) -> dict[str, Any]:
    """What predict_records needs for an LLM system: model, adapter and system prompt."""
    from eval.predict import manifest_system_prompt, zero_shot_system_prompt

    base = Path(card["resolved_config"]["base_model"])
    if not base.exists():
        raise ConfigError([f"{run / 'run_card.json'}: resolved_config.base_model '{base}' not found; "
                           "build it with make model"])
    if system == "zero_shot":
        return {"model_dir": base, "adapter_dir": None, "system_prompt": zero_shot_system_prompt(tax)}
    missing = [f for f in (ADAPTER_FILE, "adapter_config.json") if not (run / f).is_file()]
    if missing:
        raise ConfigError([f"{run}: no {' or '.join(missing)}; "
                           "pass the run folder axolotl wrote the adapter to"])
    trained_prompt = (card.get("data") or {}).get("system_prompt")
    prompt = trained_prompt if trained_prompt is not None else manifest_system_prompt(data)
    return {"model_dir": base, "adapter_dir": run, "system_prompt": prompt}


def resolved_decode(cfg: EvalConfig) -> dict[str, Any]:
    """Decode settings as run: `dtype: auto` recorded as the type this machine resolved it to, so a
    cache filled on a bf16 machine is not reused for fp32 decoding elsewhere (and metrics say which)."""
    from decoding.precision import resolve_dtype

    d = cfg.decode.__dict__
    return d | {"dtype": resolve_dtype(d["dtype"]), "dtype_setting": d["dtype"]}


def stamp_for(system: str, records: list[dict[str, Any]], cfg: EvalConfig, inputs: dict[str, Any],
              tax: Taxonomy, baseline: Baseline | None = None) -> dict:
    from eval.predict import adapter_train_data, prediction_key

    train = (getattr(baseline, "train_sha256", None) if system == "baseline"
             else adapter_train_data(inputs.get("adapter_dir")))
    stamp: dict[str, Any] = {"system": system, **prediction_key(records, tax, train)}
    if system == "baseline":
        stamp["baseline"] = cfg.baseline.__dict__
    else:
        adapter = inputs["adapter_dir"] and Path(inputs["adapter_dir"]) / ADAPTER_FILE
        stamp |= {"decode": resolved_decode(cfg), "model_dir": str(inputs["model_dir"]),
                  "system_prompt": inputs["system_prompt"],
                  "adapter_mtime": adapter.stat().st_mtime if adapter else None}
    return json.loads(json.dumps(stamp, default=str))


def predict(system: str, records: list[dict[str, Any]], out: Path, cfg: EvalConfig, inputs: dict[str, Any],
            baseline: Baseline | None, tax: Taxonomy, force: bool) -> Path:
    """Write out/predictions.parquet unless an identical one is already there."""
    stamp = stamp_for(system, records, cfg, inputs, tax, baseline)
    stamp_path, parquet = out / "predict_inputs.json", out / "predictions.parquet"
    same = parquet.is_file() and stamp_path.is_file() and json.loads(stamp_path.read_text()) == stamp
    if same and not force:
        print(f"  reusing {parquet} (same inputs; --force decodes again)")
        return parquet
    if system == "baseline":
        assert baseline is not None
        path = predict_baseline(baseline, records, out)
    else:
        from eval.predict import predict_records

        d = cfg.decode
        path = predict_records(records, inputs["model_dir"], inputs["adapter_dir"], inputs["system_prompt"],
                               d.mode, d.batch_size, d.max_new_tokens, out, tax,
                               max_value_chars=d.max_value_chars, max_entities=d.max_entities, dtype=d.dtype,
                               engine=d.engine)
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return path


def system_meta(system: str, card: dict[str, Any], cfg: EvalConfig) -> dict[str, Any]:
    rc = card["resolved_config"]
    if system == "baseline":
        return {"model": BASELINE_MODEL, "base_model": None, "lora_r": None}
    meta = {"model": rc["base_model"], "base_model": rc["base_model"], "decode": resolved_decode(cfg)}
    return meta | {"lora_r": rc.get("lora_r") if system == "finetuned" else None}


def evaluate(run: Path, data: Path, cfg: EvalConfig, tax: Taxonomy, force: bool = False,
             allow_other_data: bool = False) -> list[dict]:
    card = read_run_card(run)
    trained, scored = check_same_data(run, card, data, allow_other_data)
    splits = [s for s in cfg.splits if (data / f"{s}.jsonl").is_file()]
    for s in sorted(set(cfg.splits) - set(splits), key=cfg.splits.index):
        print(f"skipping split {s}: {data / (s + '.jsonl')} not found", file=sys.stderr)
    if not splits:
        raise ConfigError([f"{data}: none of the splits {', '.join(cfg.splits)} exists; "
                           "build it with make data"])
    # Every input is read before any model work or output, so a corrupt line stops the run up front.
    split_records = {s: read_jsonl(data / f"{s}.jsonl") for s in splits}
    train_records = read_jsonl(data / "train.jsonl") if "baseline" in cfg.systems else []
    baseline = Baseline(tax, cfg.baseline).fit(train_records) if "baseline" in cfg.systems else None
    run_info = {"run": run.name, "run_dir": str(run), "recipe": card.get("recipe"), "data": str(data),
                "data_manifest": scored, "train_data_manifest": trained,
                "allow_other_data": allow_other_data, "sample_seed": cfg.sample_seed}
    for system in cfg.systems:  # every output folder checked before any model work
        for split in splits:
            check_output_folder(run / "eval" / system / split, EVAL_MARK)
    all_metrics = []
    for system in cfg.systems:
        inputs = {} if system == "baseline" else model_inputs(system, run, card, data, tax)
        for split in splits:
            records, n_available = load_split(data, split, cfg.limit_for(system), cfg.sample_seed,
                                              split_records[split])
            out = run / "eval" / system / split
            print(f"{system} / {split}: {len(records)} of {n_available} queries -> {out}")
            meta = run_info | system_meta(system, card, cfg) | {
                "system": system, "split": split, "limit": cfg.limit_for(system), "n_available": n_available}
            queries = {r["id"]: r["query"] for r in records}
            with atomic_folder(out, carry=REUSED, relocate=SELF_PATHS, legacy=EVAL_MARK) as tmp:
                path = predict(system, records, tmp, cfg, inputs, baseline, tax, force)
                metrics = score_predictions(path, tmp, tax, queries, meta)
                metrics = add_intervals(metrics, path, records, tax, tmp, cfg.sample_seed)
                all_metrics.append(add_retrieval(metrics, path, records, tmp, data))  # eval/retrieval.yml
    return all_metrics


def parse_list(text: str | None, allowed: tuple[str, ...], flag: str) -> tuple[str, ...] | None:
    if text is None:
        return None
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ConfigError([f"{flag}: unknown value(s) {', '.join(bad) or '(empty)'}; "
                           f"choose from {', '.join(allowed)}"])
    return values


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, help="run folder (default: newest under runs/ with an adapter)")
    ap.add_argument("--runs-root", type=Path, default=Path("runs"), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, default=Path("data/default"))
    ap.add_argument("--splits", help=f"comma-separated, from {', '.join(SPLITS)}")
    ap.add_argument("--systems", help=f"comma-separated, from {', '.join(SYSTEMS)}")
    ap.add_argument("--limit", type=int, help="queries per split (0 = all); default from the config")
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--force", action="store_true", help="decode again even when inputs are unchanged")
    ap.add_argument("--allow-other-data", action="store_true",
                    help="score the run on --data even though it was trained on another dataset")
    args = ap.parse_args(argv)
    try:
        cfg = load_eval_config(args.config)
        overrides: dict[str, Any] = {}
        if (splits := parse_list(args.splits, SPLITS, "--splits")) is not None:
            overrides["splits"] = splits
        if (systems := parse_list(args.systems, SYSTEMS, "--systems")) is not None:
            overrides["systems"] = systems
        if args.limit is not None:
            overrides |= {"limit": args.limit or None, "limit_by_system": {}}
        cfg = dataclasses.replace(cfg, **overrides)
        run = args.run or newest_run(args.runs_root)
        tax = load_taxonomy()
        metrics = evaluate(run, args.data, cfg, tax, args.force, args.allow_other_data)
        report = write_report(run / "eval", cfg.report, tax)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except EndpointDown as exc:  # the breaker tripped: previous outputs are intact (atomic folders)
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(3) from None
    print(headline_table(headline_rows(metrics)))
    print(retrieval_table(metrics))  # end to end: titles from the KG per input (eval/retrieval.py)
    print(f"report: {report}")


if __name__ == "__main__":
    main()
