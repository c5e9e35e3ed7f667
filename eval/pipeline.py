"""Evaluation of one run: pick each split's queries, predict per system (reusing unchanged predictions),
score them, and return the metrics that the report and the headline table are built from.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from eval.baselines import Baseline, predict_baseline
from eval.config import EvalConfig
from eval.retrieval import add_retrieval
from eval.runs import ADAPTER_FILE, check_same_data, read_run_card
from eval.score import METRICS_MARK, score_predictions
from eval.uncertainty import add_intervals
from schemas import ConfigError, Taxonomy, read_jsonl
from schemas.atomic import atomic_folder
from schemas.outputs import check_output_folder

BASELINE_MODEL = "tfidf-logreg + gazetteer"
# A <system>/<split> folder is rebuilt beside itself and swapped in whole (schemas.atomic); these
# files of the previous one come along so unchanged predictions are reused, not decoded again.
REUSED = ("predictions.parquet", "predict_inputs.json", "outputs.jsonl", "summary.json")
SELF_PATHS = ("setup.sql", "metrics.json")  # name their own folder: rewritten to the final path
EVAL_MARK = METRICS_MARK  # what marks an eval folder written before the marker file existed


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


def decode_stamp(cfg: EvalConfig) -> dict[str, Any]:
    """What the raw outputs depend on: the decode settings less `polarity`, which only re-scores them."""
    return {k: v for k, v in resolved_decode(cfg).items() if k != "polarity"}


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
        stamp |= {"decode": decode_stamp(cfg), "model_dir": str(inputs["model_dir"]),
                  "system_prompt": inputs["system_prompt"],
                  "adapter_mtime": adapter.stat().st_mtime if adapter else None}
    return json.loads(json.dumps(stamp, default=str))


def predict(system: str, records: list[dict[str, Any]], out: Path, cfg: EvalConfig, inputs: dict[str, Any],
            baseline: Baseline | None, tax: Taxonomy, force: bool) -> Path:
    """Write out/predictions.parquet unless an identical one is already there."""
    stamp = stamp_for(system, records, cfg, inputs, tax, baseline)
    stamp_path, parquet = out / "predict_inputs.json", out / "predictions.parquet"
    raw = parquet if system == "baseline" else out / "outputs.jsonl"
    same = raw.is_file() and stamp_path.is_file() and json.loads(stamp_path.read_text()) == stamp
    if same and not force:
        if system == "baseline":
            print(f"  reusing {parquet} (same inputs; --force decodes again)")
            return parquet
        from eval.predict import rescore_outputs

        print(f"  reusing {raw}, scored with polarity {cfg.decode.polarity} "
              "(same inputs; --force decodes again)")
        return rescore_outputs(records, out, tax, cfg.decode.polarity)
    if system == "baseline":
        assert baseline is not None
        path = predict_baseline(baseline, records, out)
    else:
        from eval.predict import predict_records

        d = cfg.decode
        path = predict_records(records, inputs["model_dir"], inputs["adapter_dir"], inputs["system_prompt"],
                               d.mode, d.batch_size, d.max_new_tokens, out, tax,
                               max_value_chars=d.max_value_chars, max_entities=d.max_entities, dtype=d.dtype,
                               engine=d.engine, polarity=d.polarity)
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
