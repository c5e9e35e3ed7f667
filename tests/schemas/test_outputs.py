"""Output folders: a folder this project did not write is never replaced or written into.

The rule (schemas.outputs) and atomic_folder are tested directly; then every command that takes an output
folder is run, in process, against a folder holding a user's own file: exit 2, one line naming the folder,
and the folder exactly as it was.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import test_bad_input
from test_bad_input import run_cli, snapshot

from schemas.atomic import atomic_folder
from schemas.outputs import MARKER, ForeignOutputError, check_output_folder, claim_output_folder

ROOT = Path(__file__).resolve().parents[2]
case, dataset = test_bad_input.case, test_bad_input.dataset  # the fixtures: a small dataset and a run


def foreign(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "precious.txt").write_text("a user's own notes\n")
    return folder


def test_absent_empty_marked_and_legacy_folders_are_ours(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    check_output_folder(tmp_path / "empty")
    marked = claim_output_folder(tmp_path / "marked")
    assert (marked / MARKER).is_file()
    (marked / "anything.bin").write_bytes(b"\0")
    check_output_folder(marked)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "manifest.json").write_text(json.dumps({"sha256": {}}))
    check_output_folder(legacy, (("manifest.json", '"sha256"'),))


@pytest.mark.parametrize("setup, message", [
    (lambda p: foreign(p), "not written by this project (no .media-intent marker) and not empty (precious.txt)"),
    (lambda p: (p.mkdir(), (p / "manifest.json").write_text('{"mine": 1}')), "(manifest.json)"),
    (lambda p: p.write_text("a file"), "exists and is not a folder"),
])
def test_anything_else_is_refused_in_one_line(tmp_path: Path, setup, message: str) -> None:
    target = tmp_path / "out"
    setup(target)
    with pytest.raises(ForeignOutputError) as err:
        claim_output_folder(target, (("manifest.json", '"sha256"'),))
    assert len(err.value.problems) == 1 and message in err.value.problems[0]
    assert not (target / MARKER).exists()


def test_atomic_folder_never_replaces_a_foreign_folder(tmp_path: Path) -> None:
    target = foreign(tmp_path / "out")
    before = snapshot(tmp_path)
    with pytest.raises(ForeignOutputError), atomic_folder(target) as tmp:
        (tmp / "new.txt").write_text("x")  # never reached
    assert snapshot(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_folder_marks_what_it_writes_and_replaces_it_next_time(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (target / MARKER).is_file()
    with atomic_folder(target) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == [MARKER, "b.txt"]


def test_a_symlinked_target_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    with atomic_folder(real) as tmp:
        (tmp / "a.txt").write_text("1")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(ForeignOutputError, match="is a symbolic link"), atomic_folder(link):
        pass
    assert link.is_symlink() and (real / "a.txt").is_file()


# ---- every command that takes an output folder ---------------------------------------------------------
# (module, argv, the foreign folder relative to the case root). {x} is a path of test_bad_input's Case.
COMMANDS = [
    ("synth", ["--config", "{recipe}", "--n", "50", "--out", "{root}/out", "--quiet"], "out"),
    ("eval", ["--run", "{run}", "--data", "{data}", "--config", "{eval_cfg}", "--systems", "baseline",
              "--limit", "5"], "runs/r/eval/baseline/heldout"),
    ("eval.score", ["--predictions", "{preds}", "--out", "{root}/out", "--records", "{records}"], "out"),
    ("eval.predict", ["--records", "{records}", "--model", "{root}/model", "--data", "{data}", "--out",
                      "{root}/out"], "out"),
    ("audit", ["--data", "{data}", "--config", "{audit_cfg}", "--quiet", "--out", "{root}/out"], "out"),
    ("eval.robustness", ["--run", "{run}", "--data", "{data}", "--config", "{robust_cfg}", "--eval-config",
                         "{eval_cfg}", "--systems", "baseline", "--limit", "10"], "runs/r/robustness"),
    ("eval.external", ["--corpus", "{corpus}", "--map", str(ROOT / "eval/external/maps/example_spans.yml"),
                       "--import-only", "--out", "{root}/out"], "out"),
    ("eval.shared_records", ["--run", "{run}", "--out", "{root}/out"], "out"),
    ("export.gguf", ["--run", "{run}", "--out", "{root}/out"], "out"),
    ("basemodel.smollm2", ["--out", "{root}/out"], "out"),
    ("train", ["--recipe", "{train_recipe}", "--data", "{data}", "--run", "{root}/out"], "out"),
    ("train.sweep", ["--recipe", "{train_recipe}", "--data", "{data}", "--out", "{root}/out"], "out"),
    ("tests.helpers.tiny", ["--data", "{data}", "--out", "{root}/out"], "out"),
    ("tests.helpers.fixture", ["--out", "{root}/out"], "out"),
]


@pytest.mark.parametrize("module, argv, where", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_refuses_a_foreign_output_folder(case, capsys: pytest.CaptureFixture[str], module: str,
                                                       argv: list[str], where: str) -> None:
    target = case.root / where
    if target.exists():
        shutil.rmtree(target)
    foreign(target)
    before = snapshot(target)
    rc = run_cli(module, [a.format(**case.__dict__) for a in argv])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert rc == 2, (rc, lines)
    assert len(lines) == 1 and f"{target}: not written by this project" in lines[0], lines
    assert snapshot(target) == before and sorted(p.name for p in target.iterdir()) == ["precious.txt"]


def test_the_same_commands_write_an_empty_folder_they_are_given(case) -> None:
    """The refusal is about whose folder it is, not about the folder existing: an empty one is used."""
    out = case.root / "out"
    out.mkdir()
    assert run_cli("eval.score", ["--predictions", str(case.preds), "--out", str(out),
                                  "--records", str(case.records)]) == 0
    assert (out / MARKER).is_file() and (out / "metrics.json").is_file()
    assert run_cli("eval.score", ["--predictions", str(case.preds), "--out", str(out)]) == 0  # ours now
