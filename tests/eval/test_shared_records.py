"""eval.shared_records: which records two runs trained on different dataset versions can both be scored
on, and the end-to-end command on two real (zero-initialised) adapters of the packaged SmolLM2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from eval.shared_records import main, shared_records
from schemas import ConfigError

NAMES = {"title", "actor", "director", "character"}
REPO = Path(__file__).resolve().parents[2]


def rec(rid: str, template: str | None, query: str, *ents: tuple[str, str], intent: str = "recommend") -> dict:
    entities = [{"type": t, "value": v, "start": query.index(v), "end": query.index(v) + len(v)} for t, v in ents]
    meta = {} if template is None else {"template_id": template}
    return {"id": rid, "query": query, "intent": intent, "entities": entities, "meta": meta}


def test_heldout_keeps_only_templates_and_names_no_run_trained_on():
    train_a = [rec("a1", "t1", "movies with Ann Lee", ("actor", "Ann Lee"))]
    train_b = [rec("b1", "t2", "something like Heat", ("title", "Heat"))]
    held_a = [rec("h1", "t2", "films like Alien", ("title", "Alien")),        # b trained on t2
              rec("h2", "t3", "shows with ann lee", ("actor", "ann lee")),    # name a trained on (any case)
              rec("h3", "t3", "shows with Bo Kim", ("actor", "Bo Kim")),
              rec("h4", None, "anything by Cy Ng", ("director", "Cy Ng"))]    # no template: kept
    held_b = [rec("h3", "t3", "shows with Bo Kim", ("actor", "Bo Kim")),      # same record: counted once
              rec("h4", "t4", "Heat but darker", ("title", "Heat")),          # title b trained on
              rec("h5", "t4", "like Dune", ("title", "Dune"))]
    got = shared_records([train_a, train_b], [held_a, held_b], "heldout", NAMES)
    assert [r["id"] for r in got.records] == ["h3", "h4", "h5"]
    assert got.left_out == {"template trained on by a run": 1, "title or person trained on by a run": 2}
    assert got.counted_once == 1


def test_test_split_keeps_templates_every_run_trained_on_and_prefixes_clashing_ids():
    train_a = [rec("a1", "t1", "x"), rec("a2", "t2", "y")]
    train_b = [rec("b1", "t1", "x")]
    test_a = [rec("r1", "t1", "play jazz"), rec("r2", "t2", "play rock")]
    test_b = [rec("r1", "t1", "play blues")]  # same id, another record
    got = shared_records([train_a, train_b], [test_a, test_b], "test", NAMES)
    assert [(r["id"], r["query"]) for r in got.records] == [("r1", "play jazz"), ("1:r1", "play blues")]
    assert got.left_out == {"template not trained on by every run": 1}


def test_a_query_another_run_trained_on_is_left_out():
    """Datasets dedup within themselves only: a short query in one's test may be in the other's train."""
    train_a = [rec("a1", "t1", "play jazz")]
    train_b = [rec("b1", "t1", "Play jazz!")]
    test_a = [rec("r1", "t1", "play jazz"), rec("r2", "t1", "play rock")]
    got = shared_records([train_a, train_b], [test_a, []], "test", NAMES)
    assert [r["id"] for r in got.records] == ["r2"]
    assert got.left_out == {"query trained on by a run": 1}


def test_unknown_split_is_refused():
    with pytest.raises(ConfigError, match="split 'train'"):
        shared_records([[]], [[]], "train", NAMES)


# ---- end to end: python -m eval.shared_records on two real adapters and two dataset versions --------


def make_dataset(root: Path, name: str, drop_templates: int, seed: int = 13) -> Path:
    """A small real `make data` dataset; drop_templates removes each intent's first templates (as editing
    synth/grammar does) and another seed deals another heldout split, so each run trained on templates
    the other holds out."""
    from synth.config import load_data_config
    from synth.pipeline import build_dataset

    grammar = root / f"grammar-{name}"
    shutil.copytree(REPO / "synth/grammar", grammar)
    for f in grammar.glob("*.yml"):
        doc = yaml.safe_load(f.read_text())
        if "templates" in doc:
            doc["templates"] = doc["templates"][drop_templates:]
            f.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    cfg = load_data_config(REPO / "recipes/data/default.yml",
                           {"n": 300, "seed": seed, "out": str(root / name),
                            "grammar": {"templates": str(grammar)}})
    build_dataset(cfg, progress=False)
    return root / name


def make_run(root: Path, name: str, data: Path) -> Path:
    """A run folder as make train leaves it, with a zero-initialised LoRA adapter on the real SmolLM2."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from basemodel.smollm2 import ensure_smollm2

    base = ensure_smollm2()
    run = root / name
    get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(r=2, target_modules=["q_proj"])
                   ).save_pretrained(run)
    manifest = json.loads((data / "manifest.json").read_text())
    card = {"resolved_config": {"base_model": str(base.resolve())},
            "data": {"dir": str(data), "manifest_sha256": manifest["sha256"],
                     "system_prompt": "Extract the search intent and entities as JSON."}}
    (run / "run_card.json").write_text(json.dumps(card))
    return run


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("shared")
    old, new = make_dataset(root, "old", 0), make_dataset(root, "new", 2, seed=14)
    cfg = yaml.safe_load((REPO / "eval/config.yml").read_text())
    # the base model (zero adapter) loops to the bounds: keep them tight so the test stays quick
    cfg["decode"] |= {"max_new_tokens": 32, "max_value_chars": 16, "max_entities": 2, "batch_size": 64}
    (root / "eval.yml").write_text(yaml.safe_dump(cfg))
    return make_run(root, "run-old", old), make_run(root, "run-new", new), root


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scores_both_runs_on_the_same_unseen_records_and_reuses_them(two_runs, capsys):
    run_old, run_new, root = two_runs
    out = root / "cmp"
    main(["--run", str(run_old), "--run", str(run_new), "--splits", "heldout", "--out", str(out),
          "--config", str(root / "eval.yml")])
    shared = read_jsonl(out / "records/heldout.jsonl")
    trains = [read_jsonl(root / d / "train.jsonl") for d in ("old", "new")]
    trained = {r["meta"]["template_id"] for t in trains for r in t}
    assert shared and not {r["meta"]["template_id"] for r in shared} & trained
    ids = {r["id"] for r in shared}
    for run in (run_old, run_new):
        gold = duckdb.sql(f"select distinct id from '{out / run.name / 'heldout/predictions.parquet'}' "
                          "where source = 'gold'").fetchall()
        assert {g[0] for g in gold} == ids
        assert json.loads((out / run.name / "heldout/metrics.json").read_text())["n_queries"] == len(shared)
    summary = json.loads((out / "summary.json").read_text())
    assert [(r["run"], r["n"]) for r in summary["rows"]] == [(str(run_old), len(shared)),
                                                              (str(run_new), len(shared))]
    assert summary["left_out"]["heldout"]["template trained on by a run"] > 0
    capsys.readouterr()
    main(["--run", str(run_old), "--run", str(run_new), "--splits", "heldout", "--out", str(out),
          "--config", str(root / "eval.yml")])
    assert capsys.readouterr().out.count("reusing") == 2


def test_reuses_a_runs_own_eval_predictions_only_when_they_match(two_runs, capsys):
    run_old, run_new, root = two_runs
    own = run_old / "eval" / "finetuned" / "heldout"
    shutil.copytree(root / "cmp" / run_old.name / "heldout", own)
    out = root / "cmp2"
    args = ["--run", str(run_old), "--run", str(run_new), "--splits", "heldout", "heldout", "--out", str(out),
            "--config", str(root / "eval.yml")]
    main(args)
    assert f"{run_old}: heldout reuses its own make-eval predictions" in capsys.readouterr().out
    (own / "predictions.parquet").unlink()  # a stamp without its predictions is not reused
    shutil.rmtree(out)
    main(args)
    assert "reuses its own" not in capsys.readouterr().out
    shutil.rmtree(run_old / "eval")


def test_finds_the_training_data_under_another_name_and_refuses_a_changed_one(two_runs, tmp_path, capsys):
    run_old, _, root = two_runs
    data = tmp_path / "data"
    shutil.copytree(root / "old", data / "old")
    run = tmp_path / "run-old"
    shutil.copytree(run_old, run)
    card = json.loads((run / "run_card.json").read_text())
    (run / "run_card.json").write_text(json.dumps(card | {"data": card["data"] | {"dir": str(data / "old")}}))
    shutil.copytree(data / "old", data / "old-kept")
    (data / "old" / "manifest.json").write_text(json.dumps({"sha256": {"train.jsonl": "changed"}}))
    (data / "broken").mkdir()
    (data / "broken" / "train.jsonl").write_text("")
    (data / "broken" / "manifest.json").write_text("[]")  # skipped, not fatal
    args = ["--run", str(run), "--splits", "test", "--out", str(tmp_path / "one"),
            "--config", str(root / "eval.yml")]
    main(args)
    assert "using " + str(data / "old-kept") in capsys.readouterr().out
    shutil.rmtree(data / "old-kept")
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert "holds the dataset it was trained on" in capsys.readouterr().err
