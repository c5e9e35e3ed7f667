"""The project's published results: one run's scores, written to docs/ and into the README by a command.

Usage: python -m eval.results --run runs/x        (make results RUN=runs/x)
       python -m eval.results --render            (docs/results.md and the README table again from
                                                   docs/results.json, e.g. after changing this renderer)

Reads what `make eval` wrote (runs/x/eval/<system>/<split>/metrics.json), the run card (training time and
losses) and any real-query scores (runs/x/external/<corpus>/external.json from `make eval-external`), and
writes three tracked files: docs/results.json (the figures, the date, the commit and the command), then
docs/results.md and the README's table between its markers, both rendered from docs/results.json alone.
tests/eval/test_results.py renders them again from docs/results.json, so neither can be edited by hand.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from eval.report import headline_rows, headline_table, load_results
from schemas import ConfigError
from schemas.atomic import write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
RESULTS_JSON, RESULTS_MD, README = ROOT / "docs/results.json", ROOT / "docs/results.md", ROOT / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
# The README keeps the columns a newcomer reads first; docs/results.md has all of them.
README_COLUMNS = ("system", "split", "queries", "intent macro-F1", "entity macro-F1", "names F1",
                  "exclusion F1", "exact match", "schema-valid")
CARD_KEYS = ("recipe", "steps", "train_runtime_s", "seconds_per_step", "examples_trained",
             "first_eval_loss", "final_eval_loss", "cpu_bf16_override")


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def external_scores(run: Path) -> list[dict[str, Any]]:
    """The fine-tuned model on each imported real-query corpus, with its 95% interval."""
    found = []
    for path in sorted(run.glob("external/*/external.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        ft = report.get("systems", {}).get("finetuned")
        if not ft:
            continue
        interval = ft.get("intervals", {}).get("metrics", {}).get("entity_f1", {})
        found.append({"corpus": report.get("name", path.parent.name), "queries": report["import"]["queries"],
                      "types": report["import"]["mapped_types"], "entity macro-F1": ft["entity_macro_f1"],
                      "interval": [interval.get("lo"), interval.get("hi")],
                      "relaxed entity macro-F1": ft.get("entity_relaxed_macro_f1")})
    return found


def collect(run: Path, command: str) -> dict[str, Any]:
    """Everything docs/results.md shows, read from one run folder."""
    results = load_results(run / "eval")
    if not results:
        raise ConfigError([f"{run}: no eval/<system>/<split>/metrics.json; run make eval RUN={run} first"])
    card_path = run / "run_card.json"
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    meta = results[0].metrics.get("meta", {})
    heldout = next((r for r in results if r.system == "finetuned" and r.split == "heldout"), None)
    return {"date": datetime.date.today().isoformat(), "commit": git_commit(), "command": command,
            "run": run.name, "data_manifest": meta.get("data_manifest"), "base_model": meta.get("base_model"),
            "lora_r": meta.get("lora_r"), "decode": meta.get("decode", {}),
            "training": {k: card[k] for k in CARD_KEYS if k in card},
            "rows": (rows := headline_rows(r.metrics for r in results)), "columns": list(rows[0]),
            "heldout_intervals": heldout.metrics.get("intervals") if heldout else None,
            "external": external_scores(run)}


def fmt(x: Any) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def readme_block(res: dict[str, Any]) -> str:
    """The README's results section body: one table and the line that says where it came from."""
    rows = [{c: r[c] for c in README_COLUMNS if c in r} for r in res["rows"]]
    t = res["training"]
    trained = (f", trained {t['steps']} steps in {t['train_runtime_s'] / 60:.1f} min"
               if "train_runtime_s" in t else "")
    lines = [headline_table(rows), "",
             f"Run `{res['run']}` ({t.get('recipe', '?')}, LoRA r{res['lora_r']}{trained}); written by "
             f"`{res['command']}` on {res['date']} at commit {res['commit']}. Intervals, training "
             "figures and real-query scores: [docs/results.md](docs/results.md)."]
    for ext in res["external"]:
        lines.append(f"Real human-written queries ({ext['corpus']}, {ext['queries']} queries, "
                     f"{len(ext['types'])} shared types): entity macro-F1 {fmt(ext['entity macro-F1'])} "
                     f"(relaxed {fmt(ext['relaxed entity macro-F1'])}).")
    return "\n".join(lines)


def results_md(res: dict[str, Any]) -> str:
    t, d = res["training"], res["decode"]
    rows = [{c: r[c] for c in res["columns"]} for r in res["rows"]]  # JSON keys are sorted; columns are not
    out = ["# Results", "",
           f"Written by `{res['command']}` on {res['date']} at commit {res['commit']} from run "
           f"`{res['run']}` (data manifest {res['data_manifest']}, base model `{res['base_model']}`, "
           f"LoRA r{res['lora_r']}). Do not edit: `python -m eval.results --render` rebuilds this page "
           "and the README's table from docs/results.json.", "",
           "## Scores (`make eval`)", "", headline_table(rows), "",
           f"Decoding: engine `{d.get('engine')}`, mode `{d.get('mode')}`, dtype `{d.get('dtype')}`, "
           f"batch {d.get('batch_size')}, polarity `{d.get('polarity', 'model')}`. "
           "`test` shares templates and KG values with train; `heldout` does not.",
           ""]
    iv = res["heldout_intervals"]
    if iv:
        out += [f"## 95% intervals on heldout ({iv['clusters']} templates, {iv['resamples']} resamples)",
                "", "| figure | value | interval |", "|---|---|---|"]
        out += [f"| {k} | {fmt(v['value'])} | [{fmt(v['lo'])}, {fmt(v['hi'])}] |"
                for k, v in iv["metrics"].items()]
        out.append("")
    if t:
        out += ["## Training (run card)", "", "| figure | value |", "|---|---|"]
        out += [f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in t.items()]
        out.append("")
    if res["external"]:
        out += ["## Real human-written queries (`make eval-external`)", "",
                "| corpus | queries | types | entity macro-F1 | 95% interval | relaxed |",
                "|---|---|---|---|---|---|"]
        out += [f"| {e['corpus']} | {e['queries']} | {', '.join(e['types'])} | {fmt(e['entity macro-F1'])} | "
                f"[{fmt(e['interval'][0])}, {fmt(e['interval'][1])}] | {fmt(e['relaxed entity macro-F1'])} |"
                for e in res["external"]]
        out.append("")
    return "\n".join(out)


def with_block(readme: str, block: str) -> str:
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise ConfigError([f"README.md: expected one {BEGIN} and one {END}; "
                           "put them around the results table"])
    head, rest = readme.split(BEGIN)
    return f"{head}{BEGIN}\n{block}\n{END}{rest.split(END)[1]}"


def readme_table(readme: str) -> str:
    """The text between the README's markers, as with_block writes it."""
    return readme.split(BEGIN)[1].split(END)[0].strip("\n")


def render(res: dict[str, Any]) -> None:
    write_text_atomic(RESULTS_MD, results_md(res))
    write_text_atomic(README, with_block(README.read_text(encoding="utf-8"), readme_block(res)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.results", description=__doc__.splitlines()[0])
    ap.add_argument("--run", help="run folder scored by make eval, e.g. runs/cpu-smollm2-135m-lora")
    ap.add_argument("--render", action="store_true",
                    help="only render docs/results.md and the README table from docs/results.json")
    args = ap.parse_args(argv)
    try:
        if args.render:
            res = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
        elif args.run:
            collected = collect(Path(args.run), f"make results RUN={args.run}")
            text = json.dumps(collected, indent=1, sort_keys=True)
            write_text_atomic(RESULTS_JSON, text + "\n")
            res = json.loads(text)  # render what --render will read back, key order included
        else:
            ap.error("give --run runs/x or --render")
        render(res)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print("wrote docs/results.json, docs/results.md and README.md's results table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
