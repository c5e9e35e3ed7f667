"""Build the perturbed sets, predict each with eval's prediction step, score each with eval.score."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from eval.config import EvalConfig
from eval.perturb import Perturbation, perturb_records
from eval.robustness.config import RobustnessConfig
from eval.robustness.report import CLEAN, write_report
from schemas import ConfigError, Taxonomy, read_jsonl
from schemas.atomic import atomic_folder

# A robustness folder written before output folders carried the marker (schemas.outputs).
ROBUSTNESS_MARK = (("robustness.json", "\"rows\""),)


def write_jsonl(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def load_grammar(data: Path, tax: Taxonomy) -> tuple[Any | None, str]:
    """The grammar the dataset was generated with (manifest config.grammar.templates), for paraphrases."""
    manifest = data / "manifest.json"
    config = json.loads(manifest.read_text(encoding="utf-8")).get("config", {}) if manifest.is_file() else {}
    folder = Path((config.get("grammar") or {}).get("templates") or "synth/grammar")
    try:
        from synth.templates import Grammar

        return Grammar.load(folder, tax), f"grammar {folder}"
    except (ImportError, ConfigError) as exc:
        return None, f"no grammar ({str(exc).splitlines()[0]}): paraphrase sets keep the clean text"


def edit_stats(records: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Share of queries changed and mean character edits (Levenshtein) from the clean query."""
    dists = [Levenshtein.distance(r["meta"].get("original_query", r["query"]), r["query"]) for r in records]
    return {"changed": round(sum(d > 0 for d in dists) / max(len(dists), 1), 4),
            "mean_edits": round(sum(dists) / max(len(dists), 1), 2)}


def build_sets(clean: list[dict[str, Any]], cfg: RobustnessConfig, grammar: Any) -> dict[str, list[dict]]:
    sets = {CLEAN: clean}
    for p in cfg.perturbations:
        sets[p.key] = perturb_records(clean, p, cfg.seed, grammar)
    return sets


# ---- predict and score ----------------------------------------------------------------------------

def predict_set(system: str, records: list[dict[str, Any]], out: Path, ecfg: EvalConfig,
                inputs: dict[str, Any], baseline: Any, tax: Taxonomy, force: bool) -> Path:
    """eval's prediction step; its stamp covers ids, query texts and model inputs, so a changed
    perturbation decodes again and an unchanged one is reused."""
    from eval.pipeline import predict

    return predict(system, records, out, ecfg, inputs, baseline, tax, force)


def system_inputs(system: str, run: Path, data: Path, ecfg: EvalConfig, tax: Taxonomy) -> tuple[dict, Any]:
    from eval.pipeline import model_inputs
    from eval.runs import read_run_card

    if system == "baseline":
        from eval.baselines import Baseline

        return {}, Baseline(tax, ecfg.baseline).fit(read_jsonl(data / "train.jsonl"))
    return model_inputs(system, run, read_run_card(run), data, tax), None


def metrics_row(system: str, key: str, p: Perturbation | None, records: list[dict[str, Any]],
                m: dict[str, Any]) -> dict[str, Any]:
    return {"system": system, "set": key, "perturbation": p.name if p else CLEAN,
            "severity": p.severity if p else "", "n": m["n_queries"],
            **(edit_stats(records) if p else {"changed": 0.0, "mean_edits": 0.0}),
            "intent_macro_f1": m["intent"]["macro_avg"]["f1"],
            "entity_macro_f1": m["entities"]["macro_avg"]["f1"], "exact_match": m["exact_match"],
            # the negation sets' own figure: values ruled out, read as ruled out (None: the set has none)
            "exclusion_f1": m["exclusions"]["micro_avg"]["f1"] if m["exclusions"]["support"] else None}


def add_drops(rows: list[dict[str, Any]]) -> None:
    """Clean minus perturbed Macro-F1, per system (positive = the perturbation hurts)."""
    for r in rows:
        base = next(c for c in rows if c["system"] == r["system"] and c["set"] == CLEAN)
        r["intent_drop"] = round(base["intent_macro_f1"] - r["intent_macro_f1"], 4)
        r["entity_drop"] = round(base["entity_macro_f1"] - r["entity_macro_f1"], 4)


def add_drop_intervals(row: dict[str, Any], clean: Sequence[tuple], perturbed: Path,
                       records: list[dict[str, Any]], tax: Taxonomy, seed: int) -> None:
    """95% intervals of the drops: each perturbed query keeps its clean query's id and template, so the
    two prediction sets are resampled together by template (eval/uncertainty.py, paired). `clean` holds
    the clean set's query_counts rows, read once per system."""
    from eval.uncertainty import bootstrap_counts, query_counts

    diff = bootstrap_counts([clean, query_counts(perturbed, tax)], records, tax, seed=seed)["differences"][0]
    for kind in ("intent", "entity"):
        d = diff[f"{kind}_f1"]  # perturbed minus clean: the drop is its negative
        # + 0.0: a zero difference prints as 0.0, not -0.0
        row[f"{kind}_drop_lo"], row[f"{kind}_drop_hi"] = round(-d["hi"], 4) + 0.0, round(-d["lo"], 4) + 0.0


def run_robustness(run: Path, data: Path, cfg: RobustnessConfig, ecfg: EvalConfig, tax: Taxonomy,
                   force: bool = False, allow_other_data: bool = False) -> dict[str, Any]:
    """run/robustness/, built beside the previous one and swapped in whole (schemas.atomic); its
    unchanged predictions are carried over and reused."""
    from eval.pipeline import REUSED, SELF_PATHS
    from eval.runs import check_same_data, read_run_card

    if "finetuned" in cfg.systems:  # as make eval: never perturb queries the adapter may have trained on
        check_same_data(run, read_run_card(run), data, allow_other_data)
    carry = [f"**/{name}" for name in REUSED]
    with atomic_folder(run / "robustness", carry=carry, relocate=[f"**/{n}" for n in SELF_PATHS],
                       legacy=ROBUSTNESS_MARK) as out:
        return _run_robustness(run, data, cfg, ecfg, tax, force, out)


def _run_robustness(run: Path, data: Path, cfg: RobustnessConfig, ecfg: EvalConfig, tax: Taxonomy,
                    force: bool, out: Path) -> dict[str, Any]:
    from eval.pipeline import load_split
    from eval.score import score_predictions
    from eval.uncertainty import query_counts

    split_file = data / f"{cfg.split}.jsonl"
    if not split_file.is_file():
        raise ConfigError([f"{split_file}: file not found; build the dataset with make data"])
    # eval's own seeded subset: with the same seed and limit, the clean set is the one `make eval` scored
    clean, _ = load_split(data, cfg.split, cfg.limit, cfg.seed)
    grammar, grammar_note = load_grammar(data, tax)
    sets = build_sets(clean, cfg, grammar)
    for key, records in sets.items():
        if key != CLEAN:
            write_jsonl(out / "sets" / f"{key}.jsonl", records)
    rows = []
    for system in cfg.systems:
        inputs, baseline = system_inputs(system, run, data, ecfg, tax)
        clean_counts: list[tuple] = []
        for key, records in sets.items():
            print(f"robustness {system} / {key}: {len(records)} queries", file=sys.stderr)
            set_dir = out / system / key
            path = predict_set(system, records, set_dir, ecfg, inputs, baseline, tax, force)
            m = score_predictions(path, set_dir, tax, {r["id"]: r["query"] for r in records},
                                  {"system": system, "set": key, "split": cfg.split})
            p = next((p for p in cfg.perturbations if p.key == key), None)
            rows.append(metrics_row(system, key, p, records, m))
            if key == CLEAN:
                clean_counts = query_counts(path, tax)
            add_drop_intervals(rows[-1], clean_counts, path, clean, tax, cfg.seed)
    add_drops(rows)
    examples = {k: [(r["meta"]["original_query"], r["query"]) for r in v if r["meta"]["perturbed"]][:3]
                for k, v in sets.items() if k != CLEAN}
    result = {"run": str(run), "data": str(data), "split": cfg.split, "n": len(clean), "seed": cfg.seed,
              "limit": cfg.limit, "config": cfg.path, "grammar": grammar_note, "rows": rows,
              "examples": examples}
    write_report(result, out, tax, ecfg.report.dpi)
    return result
