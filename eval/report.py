"""report.md and a self-contained report.html for one run's eval folder: every system x split scored.

Usage: python -m eval.report runs/x/eval

Reads <eval>/<system>/<split>/metrics.json and tables/*.json (written by eval.score) and, when present,
outputs.jsonl for the raw model text of the worst errors. Per system and split: per-class tables for
intents and entities (strict and relaxed), a per-class F1 bar chart, the intent confusion heatmap, the
worst errors with query, gold and prediction, and every other SQL table as is. Charts are PNGs in
<eval>/figures/ (linked from the Markdown) and inline base64 in the HTML, so the HTML is one file.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.config import DEFAULT_CONFIG, SYSTEMS, ReportConfig, load_eval_config
from eval.uncertainty import interval_line
from report.document import environment, markdown_table
from report.figures import b64, pyplot, save_png
from schemas import SPLITS, ConfigError, Taxonomy, load_taxonomy
from schemas.atomic import write_text_atomic

TEMPLATES = Path(__file__).with_name("templates")
# Tables the report lays out itself; any other SQL result is shown under "More tables".
KNOWN_TABLES = ("per_class_intent", "averages_intent", "accuracy_intent", "confusion_intent",
                "per_class_entity", "averages_entity", "averages_entity_group", "names_any_type",
                "relaxed_entity", "averages_relaxed_entity", "exact_match", "schema_valid_rate",
                "status_counts", "worst_errors", "per_class_exclusion", "averages_exclusion",
                "confusion_polarity")
META_KEYS = ("run", "run_dir", "recipe", "data", "data_manifest", "limit", "model", "n_available")
MAX_EXTRA_ROWS = 50
OUTPUT_CHARS = 240


@dataclass
class Result:
    system: str
    split: str
    dir: Path
    metrics: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]]
    figures: dict[str, Path] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return f"{self.system}-{self.split}"


def rank(value: str, order: Iterable[str]) -> tuple[int, str]:
    order = list(order)
    return (order.index(value) if value in order else len(order), value)


def load_results(eval_dir: Path) -> list[Result]:
    results = []
    for path in eval_dir.glob("*/*/metrics.json"):
        if any(part.startswith(".") for part in path.relative_to(eval_dir).parts):
            continue  # an unfinished folder of a killed run (schemas.atomic), not a result
        tables = {t.stem: json.loads(t.read_text(encoding="utf-8"))
                  for t in (path.parent / "tables").glob("*.json")}
        results.append(Result(path.parent.parent.name, path.parent.name, path.parent,
                              json.loads(path.read_text(encoding="utf-8")), tables))
    return sorted(results, key=lambda r: (rank(r.system, SYSTEMS), rank(r.split, SPLITS)))


# --- headline ----------------------------------------------------------------------------------------

def headline_rows(metrics: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    metrics = list(metrics)
    # the column appears once some scored split holds an entity the user rules out
    excluding = any(exclusion_support(m) for m in metrics)
    rows = []
    for m in metrics:
        meta = m.get("meta", {})
        n, total = m["n_queries"], meta.get("n_available", m["n_queries"])
        split = meta.get("split", ",".join(m.get("splits", [])))
        rows.append({"system": meta.get("system", "?"), "split": split,
                     "queries": f"{n}" if n == total else f"{n} of {total}",
                     "intent macro-F1": m["intent"]["macro_avg"]["f1"],
                     "entity macro-F1": m["entities"]["macro_avg"]["f1"],
                     # heldout names are unseen in training: "works on unseen names" is this number
                     "names F1": group_f1(m, "names"),
                     # a name found under any name type: names F1's shortfall from it is wrong roles
                     "names any-type F1": names_any_type_f1(m),
                     "closed-vocab F1": group_f1(m, "closed_vocabulary"),
                     # micro F1 of excluded values ("not a horror movie"), polarity included
                     **({"exclusion F1": exclusion_f1(m)} if excluding else {}),
                     "exact match": m["exact_match"], "schema-valid": m["schema_valid_rate"]})
    return rows


def exclusion_support(metrics: Mapping[str, Any]) -> int:
    """Gold exclusions scored (sql/scoring/averages_exclusion.sql); 0 for a metrics.json from before them."""
    return (metrics.get("exclusions") or {}).get("support") or 0


def exclusion_f1(metrics: Mapping[str, Any]) -> float | None:
    """Micro F1 of excluded entities; None (n/a) where the split holds no gold exclusion."""
    return metrics["exclusions"]["micro_avg"]["f1"] if exclusion_support(metrics) else None


def group_f1(metrics: Mapping[str, Any], group: str) -> float | None:
    """Entity macro-F1 over one type group (sql/scoring/averages_entity_group.sql); None when not scored."""
    found = metrics["entities"].get("by_group", {}).get(group)
    return found["macro_avg"]["f1"] if found else None


def names_any_type_f1(metrics: Mapping[str, Any]) -> float | None:
    """Micro-F1 of names found whatever name type they got (sql/scoring/names_any_type.sql); None when not
    scored (a metrics.json from before that table)."""
    found = metrics["entities"].get("by_group", {}).get("names", {}).get("any_type")
    return found["f1"] if found else None


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def md_escape(value: Any) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def headline_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table: readable in a terminal and in report.md."""
    if not rows:
        return "(nothing scored)"
    return markdown_table(list(rows[0]), rows, md_escape)


# --- figures -----------------------------------------------------------------------------------------

def f1_chart(result: Result, path: Path, dpi: int) -> Path:
    """Per-class F1: intents, and entities strict with the relaxed score as a marker."""
    plt = pyplot()
    intents = result.tables["per_class_intent"]
    entities = result.tables["per_class_entity"]
    relaxed = {r["label"]: r["f1"] for r in result.tables["relaxed_entity"]}
    height = 0.24 * max(len(intents), len(entities)) + 1.3
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, height), gridspec_kw={"wspace": 0.5})
    try:
        for ax, rows, title in ((ax1, intents, "intent F1"), (ax2, entities, "entity F1 (dot: relaxed)")):
            labels = [f"{r['label']} ({r['support']})" for r in rows][::-1]
            ax.barh(labels, [r["f1"] for r in rows][::-1], height=0.6, color="#4C72B0")
            ax.set_xlim(0, 1)
            ax.set_title(title, fontsize=10)
            ax.tick_params(labelsize=8)
            ax.grid(axis="x", alpha=0.3)
        ax2.plot([relaxed.get(r["label"], 0) for r in entities][::-1], range(len(entities)), "o",
                 color="#DD8452", markersize=4)
        fig.suptitle(f"{result.system} / {result.split}: per-class F1 (support)", fontsize=11)
        return save_png(fig, path, dpi)
    finally:
        plt.close(fig)


def confusion_chart(result: Result, path: Path, dpi: int) -> Path:
    """Counts annotated, colour = share of the gold row, so rare intents stay readable."""
    import numpy as np

    plt = pyplot()

    cells = result.tables["confusion_intent"]
    gold = list(dict.fromkeys(c["gold"] for c in cells))
    pred = list(dict.fromkeys(c["pred"] for c in cells))
    counts = np.zeros((len(gold), len(pred)))
    for c in cells:
        counts[gold.index(c["gold"]), pred.index(c["pred"])] = c["n"]
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(0.5 * len(pred) + 2.2, 0.4 * len(gold) + 1.6))
    try:
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(pred)), pred, rotation=40, ha="right", fontsize=7)
        ax.set_yticks(range(len(gold)), gold, fontsize=7)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("gold", fontsize=8)
        for i in range(len(gold)):
            for j in range(len(pred)):
                if counts[i, j]:
                    ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.6 else "black")
        ax.set_title(f"{result.system} / {result.split}: intent confusion", fontsize=10)
        return save_png(fig, path, dpi)
    finally:
        plt.close(fig)


def overview_chart(rows: list[dict[str, Any]], path: Path, dpi: int) -> Path:
    """Headline metrics, one group per system x split."""
    import numpy as np

    plt = pyplot()

    metrics = ("intent macro-F1", "entity macro-F1", "exact match")
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(rows) + 2), 3.2))
    try:
        x = np.arange(len(rows))
        for k, name in enumerate(metrics):
            ax.bar(x + (k - 1) * 0.27, [r[name] or 0 for r in rows], 0.27, label=name)
        ax.set_xticks(x, [f"{r['system']}\n{r['split']}" for r in rows], fontsize=8)
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.22))
        ax.set_title("headline metrics", fontsize=10)
        return save_png(fig, path, dpi)
    finally:
        plt.close(fig)


# --- tables for the templates -----------------------------------------------------------------------

def read_outputs(path: Path) -> dict[str, str]:
    """id -> raw model text from outputs.jsonl, shortened."""
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            text = row.get("text")
            if text is not None:
                out[str(row["id"])] = text if len(text) <= OUTPUT_CHARS else text[:OUTPUT_CHARS] + "..."
    return out


def worst_errors(result: Result, n: int) -> list[dict[str, Any]]:
    outputs = read_outputs(result.dir / "outputs.jsonl")
    rows = result.tables.get("worst_errors", [])[:n]
    return [dict(r, output=outputs.get(str(r["id"]))) for r in rows]


def extra_tables(result: Result) -> list[dict[str, Any]]:
    extra = []
    for name in sorted(set(result.tables) - set(KNOWN_TABLES)):
        rows = result.tables[name]
        extra.append({"name": name, "columns": list(rows[0]) if rows else [], "rows": rows[:MAX_EXTRA_ROWS],
                      "n_rows": len(rows)})
    return extra


def averages(rows: list[dict[str, Any]], key: str = "average") -> list[dict[str, Any]]:
    return [dict(r, label=r[key]) for r in rows]


def macro_note(metrics: Mapping[str, Any]) -> str:
    """Which classes the headline macro averages cover: the ones present in gold or predictions."""
    parts = []
    for key, noun in (("intent", "intents"), ("entities", "entity types")):
        macro = metrics.get(key, {}).get("macro_avg", {})
        if "n_classes" not in macro:  # a metrics.json from before the present-class macro
            continue
        left = macro.get("classes_left_out") or []
        parts.append(f"{macro['n_classes']} {noun}" + (f" (left out: {', '.join(left)})" if left else ""))
    if not parts:
        return ""
    return ("`macro avg` averages the classes present in gold or predictions: " + "; ".join(parts)
            + ". `taxonomy macro avg` averages every taxonomy class, absent ones as 0.")


def groups(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per entity type group (names, closed_vocabulary) for the report's group table."""
    rows = []
    for name, g in metrics["entities"].get("by_group", {}).items():
        macro, micro = g["macro_avg"], g["micro_avg"]
        rows.append({"label_group": name, "types": ", ".join(g["types"]),
                     "macro_precision": macro["precision"], "macro_recall": macro["recall"],
                     "macro_f1": macro["f1"], "micro_f1": micro["f1"], "support": macro["support"],
                     "any_type_f1": (g.get("any_type") or {}).get("f1")})
    return rows


def meta_of(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The run facts eval/__main__.py records, None where a metrics.json (e.g. from eval.score) lacks them."""
    return dict.fromkeys(META_KEYS) | metrics.get("meta", {})


def section(result: Result, cfg: ReportConfig, figures: dict[str, Path], eval_dir: Path) -> dict[str, Any]:
    t, m = result.tables, result.metrics
    return {
        "system": result.system, "split": result.split, "slug": result.slug, "metrics": m,
        "meta": meta_of(m), "macro_note": macro_note(m),
        "intent_rows": t.get("per_class_intent", []), "intent_avgs": averages(t.get("averages_intent", [])),
        "entity_rows": t.get("per_class_entity", []), "entity_avgs": averages(t.get("averages_entity", [])),
        "groups": groups(m), "interval_note": interval_note(m),
        "relaxed_rows": t.get("relaxed_entity", []),
        "exclusion_rows": t.get("per_class_exclusion", []),
        "exclusion_avgs": averages(t.get("averages_exclusion", [])),
        "polarity": t.get("confusion_polarity", []),
        "has_exclusions": any(r["tp"] + r["fp"] + r["fn"] for r in t.get("per_class_exclusion", [])),
        "relaxed_avgs": averages(t.get("averages_relaxed_entity", [])),
        "status_counts": t.get("status_counts", []), "worst": worst_errors(result, cfg.worst_errors),
        "extra": extra_tables(result),
        "figures": {k: embed(p, eval_dir) for k, p in figures.items()},
    }


def interval_note(metrics: Mapping[str, Any]) -> str | None:
    """One line of template-bootstrap intervals (eval/uncertainty.py), or None for metrics without them."""
    iv = metrics.get("intervals")
    if not iv:
        return None

    # records without a template (LLM-written) are clusters of their own, counted with the templates
    return interval_line(iv)


def embed(path: Path, eval_dir: Path) -> dict[str, str]:
    """A figure as a relative link (Markdown) and as base64 (HTML)."""
    return {"path": path.relative_to(eval_dir).as_posix(), "b64": b64(path.read_bytes())}


def heat(value: Any) -> str:
    """Cell background for a score in [0, 1]: red (0) to green (1)."""
    if not isinstance(value, int | float):
        return ""
    return f"background:hsl({round(120 * max(0.0, min(1.0, value)))},65%,88%)"


def write_report(eval_dir: str | Path, cfg: ReportConfig | None = None, tax: Taxonomy | None = None) -> Path:
    """Write eval_dir/report.md, eval_dir/report.html and eval_dir/figures/; return the HTML path."""
    eval_dir = Path(eval_dir)
    cfg = cfg or load_eval_config().report
    tax = tax or load_taxonomy()
    results = load_results(eval_dir)
    if not results:
        raise ConfigError([f"{eval_dir}: no <system>/<split>/metrics.json; run python -m eval first"])
    # metrics.json from plain eval.score has no meta: the folder names say the system and split
    named = [{"system": r.system, "split": r.split} | r.metrics.get("meta", {}) for r in results]
    rows = headline_rows([r.metrics | {"meta": meta} for r, meta in zip(results, named, strict=True)])
    fig_dir = eval_dir / "figures"
    overview = overview_chart(rows, fig_dir / "overview.png", cfg.dpi)
    sections = []
    for r in results:
        figs = {"f1": f1_chart(r, fig_dir / f"{r.slug}-f1.png", cfg.dpi),
                "confusion": confusion_chart(r, fig_dir / f"{r.slug}-confusion.png", cfg.dpi)}
        sections.append(section(r, cfg, figs, eval_dir))
    meta = meta_of(results[0].metrics)
    context = {
        "title": f"Evaluation: {meta['run'] or eval_dir.parent.name}", "meta": meta, "tax": tax,
        "headline": rows, "headline_md": headline_table(rows), "sections": sections,
        "overview": embed(overview, eval_dir),
        "subset": any(r.metrics["n_queries"] < r.metrics.get("meta", {}).get("n_available", 0)
                      for r in results),
    }
    env = environment(TEMPLATES, fmt=fmt, md=md_escape, heat=heat)
    for name in ("report.md", "report.html"):
        text = env.get_template(f"{name}.jinja").render(**context)
        write_text_atomic(eval_dir / name, text)  # a kill never leaves a torn report
    html = eval_dir / "report.html"
    return html


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_dir", type=Path, help="a run's eval folder, e.g. runs/x/eval")
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    args = ap.parse_args(argv)
    try:
        print(write_report(args.eval_dir, load_eval_config(args.config).report))
    except ConfigError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
