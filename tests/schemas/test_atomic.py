"""schemas/atomic.py: a folder is replaced whole or not at all, and a killed run's leftovers are repaired."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schemas import atomic
from schemas.atomic import atomic_folder, recover
from schemas.outputs import MARKER


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write(folder: Path, text: str) -> None:
    (folder / "a.txt").write_text(text)
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "b.txt").write_text(text)


def read(folder: Path) -> dict[str, str]:
    """The files written into the folder, without the project's marker (tests/schemas/test_outputs.py)."""
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MARKER}


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_success_replaces_and_failure_keeps(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    with atomic_folder(target) as tmp:
        write(tmp, "one")
    assert read(target) == {"a.txt": "one", "sub/b.txt": "one"} and (target / MARKER).is_file()
    with pytest.raises(RuntimeError), atomic_folder(target) as tmp:
        write(tmp, "two")
        raise RuntimeError("boom")
    assert read(target) == {"a.txt": "one", "sub/b.txt": "one"}
    (target / "cache.db").write_text("kept")
    with atomic_folder(target, carry=["cache.db", "absent"]) as tmp:
        write(tmp, "three")
    assert read(target) == {"a.txt": "three", "cache.db": "kept", "sub/b.txt": "three"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_killed_between_the_two_renames_restores_the_previous_folder(tmp_path, capsys):
    target, pid = tmp_path / "out", dead_pid()
    old, tmp = tmp_path / f".out.old-{pid}", tmp_path / f".out.tmp-{pid}"
    old.mkdir()
    write(old, "previous")
    tmp.mkdir()
    write(tmp, "half")
    notes = recover(target)
    assert read(target) == {"a.txt": "previous", "sub/b.txt": "previous"}
    assert len(notes) == 2 and not old.exists() and not tmp.exists()


def test_a_live_runs_temporary_folder_is_left_alone(tmp_path):
    import os

    target = tmp_path / "out"
    target.mkdir()
    live = tmp_path / f".out.tmp-{os.getppid()}"
    live.mkdir()
    assert recover(target) == [] and live.exists()
