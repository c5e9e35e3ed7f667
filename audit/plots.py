"""Figures for the audit report, drawn from SQL results: each plot names the file whose rows it reads.

A plot whose file is absent (or returned no rows) is skipped, so the SQL folder stays the single
source of what the report contains. Figures come back as PNG bytes for inline HTML and files for .md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from report.figures import pyplot, to_png

plt = pyplot()
Rows = list[dict[str, Any]]
DPI = 100  # default; the audit passes report.dpi from audit/config.yml


def _share_vs_target(rows: Rows, title: str, dpi: int) -> bytes:
    labels = [r["label"] for r in rows]
    xs = range(len(labels))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * len(labels)), 3.2))
    ax.bar([x - 0.2 for x in xs], [r["share"] or 0 for r in rows], width=0.4, label="achieved")
    ax.bar([x + 0.2 for x in xs], [r["target"] or 0 for r in rows], width=0.4, label="target", alpha=0.6)
    ax.set_xticks(list(xs), labels, rotation=40, ha="right")
    ax.set_ylabel("share of records")
    ax.set_title(title)
    ax.legend()
    return to_png(fig, dpi)


def intent_balance(rows: Rows, dpi: int = DPI) -> bytes:
    return _share_vs_target(rows, "Intents: share vs target", dpi)


def entity_balance(rows: Rows, dpi: int = DPI) -> bytes:
    return _share_vs_target(rows, "Entity types: share of records vs minimum target", dpi)


def length_histogram(rows: Rows, dpi: int = DPI) -> bytes:
    by_split: dict[str, dict[int, int]] = defaultdict(dict)
    for r in rows:
        by_split[r["split"]][int(r["n_tokens"])] = int(r["n_records"])
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for split, hist in sorted(by_split.items()):
        total = sum(hist.values())
        xs = sorted(hist)
        ax.plot(xs, [hist[x] / total for x in xs], marker=".", label=split)
    ax.set_xlabel("query length (whitespace tokens)")
    ax.set_ylabel("share of split")
    ax.set_title("Query length by split")
    ax.legend()
    return to_png(fig, dpi)


def cooccurrence_heatmap(rows: Rows, dpi: int = DPI) -> bytes:
    intents = list(dict.fromkeys(r["intent"] for r in rows))
    types = list(dict.fromkeys(r["type"] for r in rows))
    cell = {(r["intent"], r["type"]): r["share_of_intent"] or 0.0 for r in rows}
    grid = [[cell.get((i, t), 0.0) for t in types] for i in intents]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(types)), max(3.0, 0.4 * len(intents))))
    im = ax.imshow(grid, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(types)), types, rotation=45, ha="right")
    ax.set_yticks(range(len(intents)), intents)
    ax.set_title("Share of each intent's records mentioning each entity type")
    fig.colorbar(im, ax=ax)
    return to_png(fig, dpi)


def class_coverage(rows: Rows, dpi: int = DPI) -> bytes:
    facets = list(dict.fromkeys(r["facet"] for r in rows))
    fig, axes = plt.subplots(len(facets), 1, figsize=(7.0, 2.4 * len(facets)), squeeze=False)
    for ax, facet in zip(axes[:, 0], facets, strict=True):
        sel = [r for r in rows if r["facet"] == facet][:25]  # rows come sorted by KG titles, largest first
        xs = range(len(sel))
        ax.bar([x - 0.2 for x in xs], [r["kg_share"] or 0 for r in sel], width=0.4, label="KG titles")
        ax.bar([x + 0.2 for x in xs], [r["data_share"] or 0 for r in sel], width=0.4, label="seeded records")
        ax.set_xticks(list(xs), [str(r["class"]) for r in sel], rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{facet} (top {len(sel)} by KG titles)", fontsize=9)
        ax.legend(fontsize=7)
    return to_png(fig, dpi)


def appearances_histogram(rows: Rows, dpi: int = DPI) -> bytes:
    pools = list(dict.fromkeys(r["pool"] for r in rows))
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for pool in pools:
        counts = [int(r["n_records"]) for r in rows if r["pool"] == pool]
        ax.hist(counts, bins=min(30, max(5, len(set(counts)))), histtype="step", label=pool)
    ax.set_xlabel("records mentioning the item")
    ax.set_ylabel("KG items")
    ax.set_yscale("log")
    ax.set_title("How often each KG title and person appears")
    ax.legend()
    return to_png(fig, dpi)


PLOTS: dict[str, Callable[..., bytes]] = {
    "balance_intent_vs_target": intent_balance,
    "balance_entity_type_vs_target": entity_balance,
    "length_histogram": length_histogram,
    "cooccurrence_intent_entity_type": cooccurrence_heatmap,
    "representativeness_classes": class_coverage,
    "representativeness_item_appearances": appearances_histogram,
}


def plot_for(name: str, rows: Rows, dpi: int = DPI) -> bytes | None:
    fn = PLOTS.get(name)
    return fn(rows, dpi=dpi) if fn and rows else None
