"""Confidence intervals for Macro-F1 that respect how the data was made: a bootstrap over templates.

A query is not an independent draw: every query of one template shares its phrasing, and the heldout
split holds out whole templates, so one unlucky template moves a class's F1 by far more than a
per-query bootstrap admits (e.g. most heldout `character` values come from three templates). This
resamples templates with replacement (records without a template id are their own cluster), sums each
resample's per-query tp/fp/fn (sql/uncertainty/query_class_counts.sql, the same strict matching
as the report) and recomputes F1 and the macro averages over the classes present, as sql/scoring does.

Paired: several runs scored on the same records share every resample, so the interval of a
difference is the spread of the per-resample difference (eval.shared_records reports it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.score import connect, entity_group
from schemas import Taxonomy
from schemas.sql_project import SQL_ROOT

COUNTS_SQL = SQL_ROOT / "uncertainty" / "query_class_counts.sql"
NAME_TYPES = ("title", "actor", "director", "character")
# how reports name the averaged metrics; a type's F1 goes by the type's name
LABELS = {"intent_f1": "intent macro-F1", "entity_f1": "entity macro-F1", "names_f1": "names F1",
          "exclusion_f1": "exclusion F1"}


@dataclass
class Counts:
    """tp/fp/fn per cluster (rows) and class (columns) for one run."""
    classes: list[tuple[str, str]]     # (kind, label)
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray


def classes_of(tax: Taxonomy) -> list[tuple[str, str]]:
    """(kind, label) of every class resampled: intents, entity types, and the excludable types' exclusions."""
    return ([("intent", n) for n in tax.intent_names] + [("entity", n) for n in tax.entity_names]
            + [("exclusion", n) for n in tax.entity_names if n in tax.excludable])


def query_counts(predictions: str | Path, tax: Taxonomy) -> list[tuple[str, str, str, int, int, int]]:
    """(id, kind, label, tp, fp, fn) rows for the taxonomy's classes."""
    con = connect(predictions, tax)
    try:
        rows = con.sql(COUNTS_SQL.read_text(encoding="utf-8")).fetchall()
    finally:
        con.close()
    known = set(classes_of(tax))
    return [r for r in rows if (r[1], r[2]) in known]


def cluster_counts(rows: Sequence[tuple[str, str, str, int, int, int]], cluster_of: Mapping[str, str],
                   clusters: Sequence[str], tax: Taxonomy) -> Counts:
    classes = classes_of(tax)
    col = {c: i for i, c in enumerate(classes)}
    row = {c: i for i, c in enumerate(clusters)}
    shape = (len(clusters), len(classes))
    tp, fp, fn = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for rid, kind, label, t, p, n in rows:
        i, j = row[cluster_of.get(rid, rid)], col[(kind, label)]
        tp[i, j] += t
        fp[i, j] += p
        fn[i, j] += n
    return Counts(classes, tp, fp, fn)


def metrics(counts: Counts, weights: np.ndarray, tax: Taxonomy,
            types: Sequence[str] = NAME_TYPES) -> dict[str, np.ndarray]:
    """Per resample (rows of `weights`: how often each cluster is drawn): the macro F1s and the F1 of
    each of `types`, with sql/scoring's conventions (zero_division=0, macro over classes with gold or
    predictions; a type's F1 is NaN in a resample that drew none of its gold or predicted values), and
    the micro F1 of excluded entities (metrics.json `exclusions.micro_avg`; NaN where a resample holds
    no gold or predicted exclusion) when the taxonomy lets users rule values out."""
    tp, fp, fn = weights @ counts.tp, weights @ counts.fp, weights @ counts.fn
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = denom > 0

    def macro(cols: list[int]) -> np.ndarray:
        """NaN in a resample without any class of the group (left out of the interval), except the first
        row, the sample itself, which scores 0 there as sql/scoring does."""
        p = present[:, cols]
        n = p.sum(axis=1)
        out = np.divide((f1[:, cols] * p).sum(axis=1), n, out=np.full(len(f1), np.nan), where=n > 0)
        out[0] = 0.0 if n[0] == 0 else out[0]
        return out

    idx = {c: i for i, c in enumerate(counts.classes)}
    intents = [idx[("intent", n)] for n in tax.intent_names]
    entities = [idx[("entity", n)] for n in tax.entity_names]
    names = [idx[("entity", n)] for n in tax.entity_names if entity_group(tax, n) == "names"]
    out = {"intent_f1": macro(intents), "entity_f1": macro(entities), "names_f1": macro(names)}
    excluded = [idx[c] for c in counts.classes if c[0] == "exclusion"]
    if excluded:  # micro: the counts of every excludable type summed, as averages_exclusion.sql does
        ex_tp, ex_den = tp[:, excluded].sum(axis=1), denom[:, excluded].sum(axis=1)
        out["exclusion_f1"] = np.divide(2 * ex_tp, ex_den, out=np.full(len(tp), np.nan), where=ex_den > 0)
    for t in types:  # NaN in a resample without the type (no gold, no prediction): not a zero
        if ("entity", t) in idx:
            j = idx[("entity", t)]
            out[t] = np.where(present[:, j], f1[:, j], np.nan)
    return out


def bootstrap(predictions: Sequence[str | Path], records: Sequence[Mapping[str, Any]], tax: Taxonomy,
              n_resamples: int = 1000, seed: int = 0, level: float = 0.95,
              types: Sequence[str] = NAME_TYPES) -> dict[str, Any]:
    """Template-bootstrap intervals for each predictions file (all scored on `records`) and, for every
    file after the first, for its difference from the first; per-type F1 for each of `types`."""
    counts = [query_counts(p, tax) for p in predictions]
    return bootstrap_counts(counts, records, tax, n_resamples, seed, level, types)


def bootstrap_counts(counts: Sequence[Sequence[tuple[str, str, str, int, int, int]]],
                     records: Sequence[Mapping[str, Any]], tax: Taxonomy, n_resamples: int = 1000,
                     seed: int = 0, level: float = 0.95, types: Sequence[str] = NAME_TYPES) -> dict[str, Any]:
    """bootstrap() on query_counts() rows already read (robustness pairs one clean set with many)."""
    # a record without a template is its own cluster, named apart from any template id
    cluster_of = {str(r["id"]): (r.get("meta") or {}).get("template_id") or f"id:{r['id']}" for r in records}
    clusters = sorted(set(cluster_of.values()))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(clusters), size=(n_resamples, len(clusters)))
    weights = np.zeros((n_resamples, len(clusters)))
    np.add.at(weights, (np.arange(n_resamples)[:, None], draws), 1)
    weights = np.vstack([np.ones(len(clusters)), weights])  # row 0: the sample itself (the point value)
    per_run = [metrics(cluster_counts(rows, cluster_of, clusters, tax), weights, tax, types)
               for rows in counts]
    if all(np.isnan(m.get("exclusion_f1", [np.nan])[0]) for m in per_run):
        # records and predictions without any exclusion: no exclusion F1 to bound, left out (not "n/a")
        for m in per_run:
            m.pop("exclusion_f1", None)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100

    def interval(values: np.ndarray) -> dict[str, float | None]:
        """Point value and percentile interval over the resamples where the metric exists; None (JSON
        null) where it never does."""
        rest = values[1:][~np.isnan(values[1:])]
        point = None if np.isnan(values[0]) else float(values[0])
        if not len(rest):
            return {"value": point, "lo": None, "hi": None, "resamples": 0}
        return {"value": point, "lo": float(np.percentile(rest, lo)), "hi": float(np.percentile(rest, hi)),
                "resamples": int(len(rest))}

    return {"clusters": len(clusters), "resamples": n_resamples, "seed": seed, "level": level,
            "runs": [{k: interval(v) for k, v in m.items()} for m in per_run],
            "differences": [{k: interval(m[k] - per_run[0][k]) for k in m} for m in per_run[1:]]}


def format_interval(v: Mapping[str, Any], fmt: str = ".3f", missing: str = "n/a") -> str:
    """'0.793 [0.695, 0.825]'; `missing` for a figure the records cannot give (a type they never name)."""
    if v["value"] is None:
        return missing
    if v["lo"] is None:
        return format(v["value"], fmt)
    return f"{v['value']:{fmt}} [{v['lo']:{fmt}}, {v['hi']:{fmt}}]"


def interval_line(iv: Mapping[str, Any], unit: str = "templates") -> str:
    """One sentence of an `intervals` block (add_intervals' shape) for a report; `unit` names the clusters
    (templates for generated records, queries for an imported corpus)."""
    figures = ", ".join(f"{LABELS.get(k, k)} {format_interval(v)}" for k, v in iv["metrics"].items())
    return (f"{round(iv['level'] * 100)}% intervals from resampling the {iv['clusters']} {unit} "
            f"({iv['resamples']} resamples, strict matching; eval/uncertainty.py): {figures}.")


def add_intervals(scored: dict[str, Any], predictions: str | Path, records: Sequence[Mapping[str, Any]],
                  tax: Taxonomy, out_dir: Path, seed: int = 0) -> dict[str, Any]:
    """The hook of `python -m eval`: put one system's intervals into metrics and out_dir/metrics.json."""
    iv = bootstrap([predictions], records, tax, seed=seed)
    scored["intervals"] = {k: iv[k] for k in ("clusters", "resamples", "seed", "level")} | {
        "metrics": iv["runs"][0]}
    (out_dir / "metrics.json").write_text(json.dumps(scored, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    return scored
