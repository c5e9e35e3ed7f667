"""Score a run on imported records, on the mapped entity types only; write the external report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from eval.config import EvalConfig
from eval.external.labels import LabelMap, mapped_taxonomy
from report.document import Block, Document, Section, Table, write_document
from schemas import Taxonomy, read_jsonl


def keep_mapped(predictions: Path, out: Path, tax: Taxonomy) -> tuple[Path, dict[str, int]]:
    """Drop pred entity rows of types outside `tax`; returns the new file and what was dropped by type."""
    import pyarrow.parquet as pq

    from eval.predictions import write_predictions

    rows = pq.read_table(predictions).to_pylist()
    keep = set(tax.entity_names) | {"intent"}
    dropped = Counter(r["field"] for r in rows if r["field"] not in keep)
    return write_predictions(out, [r for r in rows if r["field"] in keep]), dict(dropped.most_common())


def system_inputs(system: str, run: Path, card: dict[str, Any], data: Path, tax: Taxonomy,
                  ecfg: EvalConfig) -> tuple[dict[str, Any], Any]:
    """What eval's prediction step needs: model inputs for the fine-tuned run, or a fitted baseline."""
    if system == "baseline":
        from eval.baselines import Baseline

        return {}, Baseline(tax, ecfg.baseline).fit(read_jsonl(data / "train.jsonl"))
    from eval.pipeline import model_inputs

    return model_inputs(system, run, card, data, tax), None


def headline(m: dict[str, Any], has_intents: bool, dropped: dict[str, int]) -> dict[str, Any]:
    ents = m["entities"]
    # macro over the mapped types present in gold or predictions: a type the corpus never labels and
    # the model never predicts is not scored as 0 (sql/scoring/averages_entity.sql)
    return {"entity_macro_f1": ents["macro_avg"]["f1"], "entity_micro_f1": ents["micro_avg"]["f1"],
            "entity_macro_types": ents["macro_avg"].get("n_classes"),
            "entity_types_left_out": ents["macro_avg"].get("classes_left_out", []),
            "entity_relaxed_macro_f1": ents["relaxed"].get("macro_avg", {}).get("f1"),
            "intent_macro_f1": m["intent"]["macro_avg"]["f1"] if has_intents else None,
            "exact_match": m["exact_match"] if has_intents else None,
            "per_type": dict(ents["per_class"]), "pred_entities_dropped_unmapped_type": dropped}


def score_external(records: list[dict[str, Any]], lmap: LabelMap, summary: dict[str, Any], run: Path,
                   systems: tuple[str, ...], tax: Taxonomy, out: Path, ecfg: EvalConfig, force: bool,
                   train_data: Path | None, allow_other_data: bool = False) -> dict[str, Any]:
    """Predict with each system exactly as `make eval` does (full taxonomy prompt and schema), then
    score only the mapped types. Intent scores only when the corpus carries mapped intents; a query
    whose intent is unmapped is in no intent's support, so its predicted intent is a false positive
    (map such intents, e.g. to out_of_scope, to score them).

    `train_data` (else the run card's data.dir, else data/default) is what the baseline fits on and
    where the fine-tuned run's prompt comes from when its card lacks one; as in `make eval`, the
    fine-tuned run is refused on a dataset it was not trained on unless `allow_other_data`."""
    from eval.robustness.run import predict_set
    from eval.runs import check_same_data, read_run_card
    from eval.score import score_predictions

    sub = mapped_taxonomy(tax, lmap)
    card = read_run_card(run) if "finetuned" in systems else {}
    data = Path(train_data or (card.get("data") or {}).get("dir") or "data/default")
    hashes = check_same_data(run, card, data, allow_other_data) if "finetuned" in systems else (None, None)
    queries = {r["id"]: r["query"] for r in records}
    meta = {"corpus": summary["corpus"], "map": lmap.path, "train_data": str(data),
            "train_data_manifest": hashes[0], "data_manifest": hashes[1],
            "allow_other_data": allow_other_data}
    results, paths = {}, {}
    for system in systems:
        inputs, baseline = system_inputs(system, run, card, data, tax, ecfg)
        raw = predict_set(system, records, out / system, ecfg, inputs, baseline, tax, force)
        path, dropped = keep_mapped(raw, out / system / "mapped" / "predictions.parquet", sub)
        m = score_predictions(path, out / system / "mapped", sub, queries, {"system": system} | meta)
        results[system] = headline(m, summary["with_intent"] > 0, dropped) | {"train_data": str(data)}
        paths[system] = path
    for system, iv in external_intervals(paths, records, sub, summary["with_intent"] > 0).items():
        results[system]["intervals"] = iv
    return results


def external_intervals(paths: dict[str, Path], records: list[dict[str, Any]], sub: Taxonomy,
                       has_intents: bool, seed: int = 0) -> dict[str, dict[str, Any]]:
    """95% bootstrap intervals of each system's strict scores on the mapped types, and of each system's
    difference from the baseline (paired: the same resamples for every system). Imported queries carry no
    template, so each query is its own cluster: a per-query bootstrap, as wide as the corpus is small."""
    from eval.uncertainty import bootstrap

    if not records:  # nothing to resample
        return {}
    # the baseline first, so that each difference reads "this system minus the baseline"
    order = sorted(paths, key=lambda s: s != "baseline")
    iv = bootstrap([paths[s] for s in order], records, sub, seed=seed, types=tuple(sub.entity_names))
    keep = [k for k in iv["runs"][0] if has_intents or k != "intent_f1"]
    common = {"clusters": iv["clusters"], "resamples": iv["resamples"], "seed": seed, "level": iv["level"]}
    out = {s: common | {"metrics": {k: iv["runs"][i][k] for k in keep}} for i, s in enumerate(order)}
    for i, s in enumerate(order[1:]):
        out[s] |= {"minus": order[0], "differences": {k: iv["differences"][i][k] for k in keep}}
    return out


def write_external_report(result: dict[str, Any], out: Path) -> None:
    s = result["import"]
    intro = [f"Corpus `{s['corpus']}` ({s['format']}, {s['queries']} queries), label map `{s['map']}`. "
             "Evaluation only: never train on these queries.",
             f"Scored on the mapped entity types only: {', '.join(s['mapped_types'])}. Gold spans of "
             "unmapped labels were dropped at import, predictions of other types before scoring."]
    unmapped = Table(["corpus label", "spans dropped"], list(s["unmapped_labels"].items()))
    sections = [Section("Import", [
        Block(text=f"{sum(s['spans_by_label'].values())} spans, {len(s['spans_by_label'])} labels; "
                   f"{s['with_intent']} queries with a mapped intent; repairs: {s['repairs'] or 'none'}."),
        Block(text="Unmapped labels (ignored):"), Block(table=unmapped)])]
    for system, r in result.get("systems", {}).items():
        top = Table(["entity macro-F1", "entity micro-F1", "relaxed macro-F1", "intent macro-F1",
                     "exact match"],
                    [(r["entity_macro_f1"], r["entity_micro_f1"], r["entity_relaxed_macro_f1"],
                      r["intent_macro_f1"], r["exact_match"])])
        per_type = Table(["type", "precision", "recall", "f1", "support"],
                         [(t, v["precision"], v["recall"], v["f1"], v["support"])
                          for t, v in r["per_type"].items()])
        dropped = Table(["predicted type", "entities dropped"],
                        list(r["pred_entities_dropped_unmapped_type"].items()))
        sections.append(Section(f"System: {system}", [
            Block(table=top), *interval_blocks(r.get("intervals")), Block(text="Per mapped type:"),
            Block(table=per_type),
            Block(text="Predicted entities of unmapped types (not scored):"), Block(table=dropped)]))
    write_document(Document(f"External corpus: {result['name']}", intro, sections), out, "external")
    text = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
    (out / "external.json").write_text(text, encoding="utf-8")


def interval_blocks(iv: dict[str, Any] | None) -> list[Block]:
    """The report's interval line and, against the baseline, the table of paired differences."""
    from eval.uncertainty import LABELS, format_interval, interval_line

    if not iv:
        return []
    lines = [Block(text=interval_line(iv, unit="queries"))]
    if "differences" in iv:
        rows = [(LABELS.get(k, k), format_interval(v, "+.3f")) for k, v in iv["differences"].items()]
        note = f"Minus {iv['minus']}, paired (an interval clear of 0 is a difference the corpus shows):"
        lines += [Block(text=note), Block(table=Table(["metric", "difference [95% interval]"], rows))]
    return lines


def write_records(records: list[dict[str, Any]], summary: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "records.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                       encoding="utf-8")
    text = json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
    (out / "import.json").write_text(text, encoding="utf-8")
