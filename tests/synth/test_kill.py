"""kill -9 of `python -m synth` (grammar backend) at known points, then a rerun.

Each run is a real subprocess killed with SIGKILL. The pause points are schemas.atomic.pause_point
hooks (env MEDIA_INTENT_PAUSE_AT), so the kill lands at an exact moment; one test kills without any
hook, as soon as the run starts writing. After every kill the previous dataset must be byte-identical
to what it was, and the rerun's files byte-identical to an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from schemas.atomic import PAUSE_ENV, PAUSE_FILE_ENV
from synth.writer import verify_manifest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "recipes/data/default.yml"
N = 200
RUN_ONLY = {"timing.json", "openai_cache.sqlite"}  # wall time, and the cache (+ -wal, -shm) a rerun adds to


def synth_cmd(out: Path, seed: int, n: int = N, config: Path = DEFAULT) -> list[str]:
    return [sys.executable, "-m", "synth", "--config", str(config), "--n", str(n), "--seed", str(seed),
            "--out", str(out), "--quiet"]


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def run_synth(out: Path, seed: int, n: int = N, config: Path = DEFAULT,
              timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(synth_cmd(out, seed, n, config), capture_output=True, text=True, cwd=ROOT,
                          env=env(), timeout=timeout)
    return proc


def snapshot(folder: Path, skip: set[str] = frozenset()) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(p.name.startswith(s) for s in skip)}


def assert_same_dataset(a: Path, b: Path) -> None:
    """Byte-identical files; manifests equal but for the output folder and the run's own usage."""
    left, right = snapshot(a, RUN_ONLY), snapshot(b, RUN_ONLY)
    assert sorted(left) == sorted(right) and len(left) >= 10
    for rel in left:
        if rel == "manifest.json":
            ml, mr = json.loads(left[rel]), json.loads(right[rel])
            for m in (ml, mr):
                m["config"].pop("out")
                m["usage"].pop("usage", None)  # requests, cached, cost: what this run spent
            assert ml == mr
        else:
            assert left[rel] == right[rel], rel


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def kill_at(point: str, cmd: list[str], tmp: Path, timeout: float = 60) -> None:
    """Start `cmd` paused at `point`, SIGKILL it there."""
    flag = tmp / f"paused-{point.replace(':', '_')}"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(**{PAUSE_ENV: point, PAUSE_FILE_ENV: str(flag)}),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while not flag.exists():
        if proc.poll() is not None:
            pytest.fail(f"run ended (rc {proc.returncode}) before pausing at {point}: "
                        f"{proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"run never reached pause point {point}")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """The uninterrupted run every rerun must match."""
    out = tmp_path_factory.mktemp("clean") / "ds"
    proc = run_synth(out, seed=13)
    assert proc.returncode == 0, proc.stderr
    return out


# Generation, after each split's files (train is first: a folder holding train but no test is the half-written state to rule out),
# with the new folder complete but not yet in place, and just before the swap.
POINTS = ["synth:round-0", "synth:wrote-train", "synth:wrote-test", "atomic:complete", "atomic:swap"]


@pytest.mark.parametrize("point", POINTS)
def test_kill_keeps_previous_dataset_and_rerun_matches_clean_run(point, clean, tmp_path):
    out = tmp_path / "ds"
    assert run_synth(out, seed=14).returncode == 0  # the previous, complete dataset (another seed)
    before = snapshot(out)

    kill_at(point, synth_cmd(out, seed=13), tmp_path)
    assert snapshot(out) == before, f"previous dataset changed by a run killed at {point}"
    assert verify_manifest(out) == []

    proc = run_synth(out, seed=13)
    assert proc.returncode == 0, proc.stderr
    if point != "synth:round-0":  # the killed run had created its temporary folder
        assert "left by a killed run" in proc.stderr
    assert leftovers(out) == []
    assert_same_dataset(out, clean)


def test_kill_of_a_first_run_leaves_no_output_folder(clean, tmp_path):
    out = tmp_path / "fresh"
    kill_at("synth:wrote-train", synth_cmd(out, seed=13), tmp_path)
    assert not out.exists()  # no half-written folder under the real name
    assert run_synth(out, seed=13).returncode == 0
    assert leftovers(out) == []
    assert_same_dataset(out, clean)


def test_kill_as_soon_as_writing_starts_without_any_hook(tmp_path):
    """No pause point: poll the folder and SIGKILL at the first sign of writing (a new file or a change)."""
    out = tmp_path / "ds"
    assert run_synth(out, seed=14, n=3000).returncode == 0
    before = snapshot(out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    proc = subprocess.Popen(synth_cmd(out, seed=13, n=3000), cwd=ROOT, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            now = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.exists()}
            if leftovers(out) or now != stamps:
                break
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "the run finished before the poll saw it write"
    assert snapshot(out) == before
    assert verify_manifest(out) == []
