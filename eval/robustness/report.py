"""robustness.md / .html / .json: Macro-F1 per perturbation and severity, the drop from clean, examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from report.document import Block, Document, Figure, Section, Table, write_document
from report.figures import pyplot, to_png
from schemas import Taxonomy

CLEAN = "clean"
COLUMNS = ("system", "perturbation", "severity", "n", "changed", "mean_edits", "intent_macro_f1",
           "intent_drop", "intent_drop_lo", "intent_drop_hi", "entity_macro_f1", "entity_drop",
           "entity_drop_lo", "entity_drop_hi", "exact_match", "exclusion_f1")


def drop_plot(rows: list[dict[str, Any]], dpi: int) -> bytes:
    plt = pyplot()
    sets = [r for r in rows if r["set"] != CLEAN]
    several = len({r["system"] for r in sets}) > 1
    labels = [f"{r['system']}:{r['set']}" if several else r["set"] for r in sets]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(labels)), 3.4))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], [r["intent_drop"] for r in sets], width=0.4, label="intent Macro-F1 drop")
    ax.bar([x + 0.2 for x in xs], [r["entity_drop"] for r in sets], width=0.4, label="entity Macro-F1 drop")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(list(xs), labels, rotation=50, ha="right", fontsize=7)
    ax.set_ylabel("clean - perturbed")
    ax.legend(fontsize=8)
    return to_png(fig, dpi)


def write_report(result: dict[str, Any], out: Path, tax: Taxonomy, dpi: int) -> None:
    res = result
    intro = [f"Run `{res['run']}`, data `{res['data']}` split `{res['split']}`: {res['n']} queries "
             f"(seed {res['seed']}, limit {res['limit']}), settings `{res['config']}`, {res['grammar']}.",
             "Drop = clean minus perturbed Macro-F1 on the same ids (positive = worse). Macro-F1 "
             "averages the classes present in gold or predictions (of the taxonomy's "
             f"{len(tax.entity_names)} entity types), as `make eval` does. Typos and casing inside "
             "entities change the gold value to the perturbed text. exclusion_f1: micro F1 of the values "
             "the user rules out, on sets that hold some (negation adds them in phrasings training never "
             "used)."]
    table = Table(list(COLUMNS), [tuple(r[c] for c in COLUMNS) for r in result["rows"]])
    examples = Table(["set", "clean query", "perturbed query"],
                     [(k, a, b) for k, pairs in result["examples"].items() for a, b in pairs])
    figure = Figure("robustness_drop", drop_plot(result["rows"], dpi))
    doc = Document("Robustness to perturbed queries", intro, [
        Section("Macro-F1 per perturbation", [Block(table=table), Block(figure=figure)]),
        Section("Examples", [Block(text="Up to three changed queries per set."), Block(table=examples)])])
    write_document(doc, out, "robustness")
    text = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
    (out / "robustness.json").write_text(text, encoding="utf-8")
