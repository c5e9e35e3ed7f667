"""kill -9 of `python -m eval` (baseline system, no model needed): the previous eval folders survive,
no half-written <system>/<split>/ folder is ever in place, and a rerun matches an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_compare import fast_config, make_data, make_run

from eval.compare import metric_files
from eval.report import load_results
from schemas.atomic import PAUSE_ENV, PAUSE_FILE_ENV
from schemas.outputs import MARKER

ROOT = Path(__file__).resolve().parents[2]


def eval_cmd(run: Path, data: Path, cfg: Path, limit: int) -> list[str]:
    return [sys.executable, "-m", "eval", "--run", str(run), "--data", str(data), "--systems", "baseline",
            "--splits", "test", "--limit", str(limit), "--config", str(cfg)]


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def run_eval(*args: object) -> None:
    proc = subprocess.run(eval_cmd(*args), capture_output=True, text=True, cwd=ROOT, env=env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file a reader would open: hidden temporary folders (.NAME.tmp-PID) are not output."""
    files = {p.relative_to(folder): p for p in sorted(folder.rglob("*")) if p.is_file()}
    return {str(rel): p.read_bytes() for rel, p in files.items()
            if not any(part.startswith(".") for part in rel.parts)}


def results(split_dir: Path) -> dict[str, object]:
    """What a rerun must reproduce: metrics (but the run's own name and folder) and the predictions."""
    m = json.loads((split_dir / "metrics.json").read_text())
    m.pop("meta")
    assert Path(m.pop("predictions")) == split_dir / "predictions.parquet"  # the final path, not a temporary one
    return {"metrics": m, "predictions": (split_dir / "predictions.parquet").read_bytes(),
            "tables": {p.name: p.read_bytes() for p in sorted((split_dir / "tables").glob("*.json"))}}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("evalkill")
    data, cfg = make_data(root), fast_config(root)
    clean = make_run(root, "clean", 8)
    run_eval(clean, data, cfg, 30)
    return root, data, cfg


def previous_eval(project, name: str) -> tuple[Path, dict[str, bytes]]:
    root, data, cfg = project
    run = make_run(root, name, 8)
    run_eval(run, data, cfg, 20)  # the previous, complete eval (a smaller subset)
    return run, snapshot(run / "eval")


@pytest.mark.parametrize("point", ["atomic:complete"])  # the swap itself: tests/synth/test_kill.py
def test_kill_keeps_previous_eval_and_rerun_matches_clean(project, point, tmp_path):
    root, data, cfg = project
    run, before = previous_eval(project, f"run-{point.split(':')[1]}")
    flag = tmp_path / "paused"
    proc = subprocess.Popen(eval_cmd(run, data, cfg, 30), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env(**{PAUSE_ENV: point, PAUSE_FILE_ENV: str(flag)}))
    deadline = time.monotonic() + 120
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL and flag.exists(), "never reached the pause point"
    assert snapshot(run / "eval") == before
    leftover = list((run / "eval/baseline").glob(".test.tmp-*/metrics.json"))
    assert leftover  # killed after scoring: the unfinished folder is there, and no reader takes it
    assert [(r.system, r.split) for r in load_results(run / "eval")] == [("baseline", "test")]
    assert all(not any(p.startswith(".") for p in f.parts) for f in metric_files(root / "runs"))

    run_eval(run, data, cfg, 30)
    split_dir = run / "eval" / "baseline"
    assert sorted(p.name for p in split_dir.iterdir()) == ["test"]  # no temporary folder left
    assert results(split_dir / "test") == results(root / "runs/clean/eval/baseline/test")


def test_kill_as_soon_as_eval_starts_writing_without_any_hook(project):
    root, data, cfg = project
    run, before = previous_eval(project, "run-nohook")
    target = run / "eval" / "baseline" / "test"
    stamps = {p: p.stat().st_mtime_ns for p in target.rglob("*")}
    proc = subprocess.Popen(eval_cmd(run, data, cfg, 30), cwd=ROOT, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if list(target.parent.glob(".test.*")) or \
                    {p: p.stat().st_mtime_ns for p in target.rglob("*") if p.exists()} != stamps:
                break
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "eval finished before the poll saw it write"
    assert snapshot(run / "eval") == before


def test_failed_audit_keeps_the_previous_audit_folder(tmp_path, monkeypatch):
    """A crash while writing the audit (here: the disk fills after the first file) changes nothing."""
    from audit import run as audit_run
    from synth.config import load_data_config
    from synth.pipeline import build_dataset

    data = tmp_path / "ds"
    build_dataset(load_data_config(ROOT / "recipes/data/default.yml", {"n": 200, "out": str(data)}),
                  progress=False)
    audit_run.run_audit(data, progress=False)
    before = snapshot(data / "audit")
    assert "audit.json" in before

    def disk_full(results, cfg, out_dir, *args, **kwargs):
        (Path(out_dir) / "audit.md").write_text("half a report")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audit_run, "write_report", disk_full)
    with pytest.raises(OSError, match="No space"):
        audit_run.run_audit(data, progress=False)
    assert snapshot(data / "audit") == before
    # no half-written temporary folder left beside the dataset (its ownership marker is expected)
    assert sorted(p.name for p in data.iterdir() if p.name.startswith(".") and p.name != MARKER) == []
