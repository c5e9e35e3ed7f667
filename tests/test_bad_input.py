"""Bad input to every command-line entry point: one line naming the file, line or key and what was expected,
exit code 2, never a traceback, and nothing already written is touched.

One table, one row per (CLI, defect). Each row gets a fresh copy of a small real dataset (the grammar
backend, seconds), a fabricated run folder whose card matches it, and copies of the shipped configs;
`mutate` breaks one thing; the CLI runs in-process (an uncaught exception fails the row with its
traceback). Files written before the call (a previous eval's metrics.json, the dataset) must be
byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from eval.predictions import long_rows, write_predictions
from synth.config import load_data_config
from synth.pipeline import build_dataset

ROOT = Path(__file__).resolve().parents[1]
DATA_RECIPE = ROOT / "recipes/data/default.yml"


@dataclass
class Case:
    """Paths one row may break; `argv` is built from them."""

    root: Path
    data: Path
    run: Path
    recipe: Path       # data recipe (synth)
    eval_cfg: Path     # eval/config.yml copy
    robust_cfg: Path   # eval/robustness/config.yml copy
    audit_cfg: Path    # audit/config.yml copy
    train_recipe: Path  # an axolotl recipe copy
    records: Path      # records JSONL for eval.score
    preds: Path        # predictions.parquet for eval.score
    corpus: Path       # external corpus (spans JSONL)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bad_input") / "data"
    build_dataset(load_data_config(DATA_RECIPE, {"n": 240, "seed": 5, "out": str(out)}), progress=False)
    return out


@pytest.fixture
def case(tmp_path: Path, dataset: Path) -> Case:
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    manifest = json.loads((data / "manifest.json").read_text())
    model = tmp_path / "model"
    model.mkdir()
    run = tmp_path / "runs" / "r"
    (run / "eval/baseline/test").mkdir(parents=True)
    (run / "adapter_model.safetensors").write_bytes(b"")
    (run / "run_card.json").write_text(json.dumps({
        "recipe": "recipes/x.yml", "data": {"dir": str(data), "manifest_sha256": manifest["sha256"],
                                            "system_prompt": manifest.get("system_prompt")},
        "resolved_config": {"base_model": str(model), "lora_r": 8}}))
    (run / "eval/baseline/test/metrics.json").write_text('{"previous": "run"}\n')  # must survive
    for folder in (run, run / "eval/baseline/test"):  # written by the project (schemas.outputs)
        (folder / ".media-intent").write_text("")
    records = tmp_path / "records.jsonl"
    shutil.copy(data / "test.jsonl", records)
    rows = [r for line in records.read_text().splitlines()[:5]
            for r in long_rows(json.loads(line), {"intent": json.loads(line)["intent"], "entities": []}, "ok")]
    preds = write_predictions(tmp_path / "preds.parquet", rows)
    corpus = tmp_path / "corpus.jsonl"
    shutil.copy(ROOT / "tests/fixtures/external/queries_with_spans.jsonl", corpus)
    paths = {}
    for name, src in (("recipe", DATA_RECIPE), ("eval_cfg", ROOT / "eval/config.yml"),
                      ("robust_cfg", ROOT / "eval/robustness/config.yml"), ("audit_cfg", ROOT / "audit/config.yml"),
                      ("train_recipe", ROOT / "recipes/tiny-test.yml")):
        paths[name] = tmp_path / f"{name}.yml"
        shutil.copy(src, paths[name])
    train_cfg = yaml.safe_load(paths["train_recipe"].read_text())
    train_cfg["base_model"] = str(model)
    paths["train_recipe"].write_text(yaml.safe_dump(train_cfg, sort_keys=False))
    return Case(root=tmp_path, data=data, run=run, records=records, preds=preds, corpus=corpus, **paths)


# ---- ways to break one thing ---------------------------------------------------------------------------

def set_key(attr: str, dotted: str, value: object) -> Callable[[Case], None]:
    """Set `a.b` in the YAML file held by `case.<attr>`."""
    def mutate(c: Case) -> None:
        path = getattr(c, attr)
        cfg = yaml.safe_load(path.read_text())
        *parents, last = dotted.split(".")
        node = cfg
        for p in parents:
            node = node[p]
        node[last] = value
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return mutate


def corrupt_line(rel: str, line: int = 3) -> Callable[[Case], None]:
    def mutate(c: Case) -> None:
        path = c.root / rel
        lines = path.read_text().splitlines(keepends=True)
        lines[line - 1] = lines[line - 1][: len(lines[line - 1]) // 2] + "\n"
        path.write_text("".join(lines))
    return mutate


def remove(rel: str) -> Callable[[Case], None]:
    return lambda c: (c.root / rel).unlink()


def corrupt_parquet(rel: str) -> Callable[[Case], None]:
    return lambda c: (c.root / rel).write_bytes(b"PAR1 not really parquet")


def other_training_data(c: Case) -> None:
    """The run card says the adapter was trained on another dataset (make data SEED=7 since)."""
    card = json.loads((c.run / "run_card.json").read_text())
    card["data"]["manifest_sha256"] = {"train.jsonl": "0" * 64}
    (c.run / "run_card.json").write_text(json.dumps(card))


# ---- the table -----------------------------------------------------------------------------------------
# (module, argv template, mutation, text the one line must contain). {x} in argv is Case.x.
SYNTH = ["--config", "{recipe}", "--check"]
EVAL = ["--run", "{run}", "--data", "{data}", "--config", "{eval_cfg}", "--systems", "baseline", "--limit", "20"]
SCORE = ["--predictions", "{preds}", "--out", "{run}/eval/baseline/test", "--records", "{records}"]
AUDIT = ["--data", "{data}", "--config", "{audit_cfg}", "--quiet", "--out", "{root}/audit"]
ROBUST = ["--run", "{run}", "--data", "{data}", "--config", "{robust_cfg}", "--eval-config", "{eval_cfg}",
          "--systems", "baseline", "--limit", "10"]
EXTERNAL = ["--corpus", "{corpus}", "--map", str(ROOT / "eval/external/maps/example_spans.yml"), "--run", "{run}",
            "--systems", "baseline", "--train-data", "{data}", "--eval-config", "{eval_cfg}"]
TRAIN = ["--recipe", "{train_recipe}", "--data", "{data}", "--run", "{root}/runs/new"]

TABLE = [
    # synth: the data recipe
    ("synth", SYNTH, set_key("recipe", "seed", "13a"), "seed: must be an integer >= 0, got '13a'"),
    ("synth", SYNTH, set_key("recipe", "split.test", "0,05"), "split.test: must be a number in [0, 1)"),
    ("synth", SYNTH, set_key("recipe", "dedup", True), "dedup: must be a mapping, got True"),
    ("synth", SYNTH, set_key("recipe", "split", "heldout"), "split: must be a mapping, got 'heldout'"),
    ("synth", SYNTH, set_key("recipe", "exclusions.share", "0,15"), "exclusions.share: must be a number in [0, 1]"),
    ("synth", SYNTH, set_key("recipe", "exclusions.per_query", [2, 1]), "exclusions.per_query: must be [min, max]"),
    # eval: splits, config, baseline data
    ("eval", EVAL, corrupt_line("data/test.jsonl"), "data/test.jsonl:3: invalid JSON"),
    ("eval", EVAL, corrupt_line("data/heldout.jsonl", 2), "data/heldout.jsonl:2: invalid JSON"),
    ("eval", EVAL, remove("data/train.jsonl"), "data/train.jsonl: file not found"),
    ("eval", EVAL, set_key("eval_cfg", "sample_seed", "13a"), "sample_seed: must be an integer >= 0, got '13a'"),
    ("eval", EVAL, set_key("eval_cfg", "decode", "grounded"), "decode: must be a mapping of engine, batch_size"),
    ("eval", EVAL, set_key("eval_cfg", "decode.mode", "grounde"), "decode.mode: unknown value 'grounde' (did you mean 'grounded'?)"),
    ("eval", EVAL, set_key("eval_cfg", "decode.dtype", "bfloat61"), "decode.dtype: unknown value 'bfloat61' (did you mean 'bfloat16'?)"),
    ("eval", EVAL, set_key("eval_cfg", "baseline.C", "10,0"), "baseline.C: must be a positive number, got '10,0'"),
    ("eval", EVAL, other_training_data, "is not the dataset"),
    # eval.score
    ("eval.score", SCORE, corrupt_line("records.jsonl", 2), "records.jsonl:2: invalid JSON"),
    ("eval.score", SCORE, corrupt_parquet("preds.parquet"), "preds.parquet: not a readable Parquet file"),
    # audit
    ("audit", AUDIT, corrupt_parquet("data/test.parquet"), "data/test.parquet: not a readable Parquet file"),
    ("audit", AUDIT, set_key("audit_cfg", "report", 20), "report: must be a mapping, got 20"),
    ("audit", AUDIT, set_key("audit_cfg", "params.near_dup_similarity", "0,9"), "near_dup_similarity"),
    # eval.robustness
    ("eval.robustness", ROBUST, corrupt_line("data/test.jsonl"), "data/test.jsonl:3: invalid JSON"),
    ("eval.robustness", ROBUST, remove("data/train.jsonl"), "data/train.jsonl: file not found"),
    ("eval.robustness", ROBUST, set_key("robust_cfg", "seed", "13a"), "seed must be an integer, got '13a'"),
    ("eval.robustness", ROBUST, set_key("robust_cfg", "perturbations", "typos"), "perturbations must be a non-empty mapping"),
    ("eval.robustness", ROBUST, set_key("eval_cfg", "decode.mode", "schemaa"), "decode.mode: unknown value 'schemaa'"),
    ("eval.robustness", [*ROBUST[:-3], "finetuned", *ROBUST[-2:]], other_training_data, "is not the dataset"),
    # eval.external
    ("eval.external", EXTERNAL, corrupt_line("corpus.jsonl", 2), "corpus.jsonl:2"),
    ("eval.external", EXTERNAL, remove("data/train.jsonl"), "data/train.jsonl: file not found"),
    ("eval.external", EXTERNAL, corrupt_line("data/train.jsonl", 4), "data/train.jsonl:4: invalid JSON"),
    ("eval.external", EXTERNAL, set_key("eval_cfg", "decode.dtype", "fp32"), "decode.dtype: unknown value 'fp32'"),
    # eval.compare
    ("eval.compare", ["{root}/runs"], lambda c: (c.run / "eval/baseline/test/metrics.json").write_text('{"meta": '),
     "metrics.json: invalid JSON"),
    # train and train.check: the axolotl recipe and the chat files
    ("train", TRAIN, corrupt_line("data/chat/train.jsonl", 3), "data/chat/train.jsonl:3: invalid JSON"),
    ("train", TRAIN, remove("data/chat/train.jsonl"), "data/chat/train.jsonl not found"),
    ("train", TRAIN, set_key("train_recipe", "seed", "13a"), "seed"),
    ("train", [*TRAIN, "--set", "a.\u00b2=x"], lambda c: None, "unknown key 'a'"),
    ("train.check", ["{train_recipe}"], set_key("train_recipe", "seed", "13a"), "seed"),
    ("train.check", ["{train_recipe}"], set_key("train_recipe", "lora_r", "sixteen"), "lora_r"),
    ("train.check", ["{train_recipe}"], lambda c: c.train_recipe.write_text("lora_r: [16\n" + c.train_recipe.read_text()),
     "train_recipe.yml:2: invalid YAML"),
]


def snapshot(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def run_cli(module: str, argv: list[str]) -> int:
    mod = importlib.import_module(module)
    if hasattr(mod, "__path__"):  # a package: `python -m pkg` runs pkg/__main__.py
        mod = importlib.import_module(f"{module}.__main__")
    try:
        rc = mod.main(argv)
    except SystemExit as exc:
        rc = exc.code
    return 0 if rc is None else rc


@pytest.mark.parametrize("module, argv, mutate, expected", TABLE,
                         ids=[f"{m}-{e.split(':')[0][:40]}" for m, _, _, e in TABLE])
def test_bad_input_is_one_line_exit_2_nothing_lost(case: Case, capsys: pytest.CaptureFixture[str], module: str,
                                                    argv: list[str], mutate: Callable[[Case], None],
                                                    expected: str) -> None:
    mutate(case)
    before = snapshot(case.root)
    args = [a.format(**case.__dict__) for a in argv]
    rc = run_cli(module, args)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, (rc, err)
    assert len(lines) == 1 and expected in lines[0], err
    after = snapshot(case.root)
    assert {p: h for p, h in after.items() if p in before} == before, "a file written before the call changed"
