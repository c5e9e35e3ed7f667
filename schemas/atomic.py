"""Atomic output folders: build a whole folder beside its target, then swap it into place.

    with atomic_folder(Path("data/default"), carry=("openai_cache.sqlite",)) as tmp:
        write_everything(tmp)          # an exception or a kill here leaves data/default untouched

The folder is built in a hidden sibling `.NAME.tmp-PID` (same filesystem, so renames are atomic) and
swapped in only when the block finishes. On Linux the swap is one `renameat2(RENAME_EXCHANGE)`: a
reader sees the old complete folder or the new complete one, never neither. Elsewhere it is two
renames through `.NAME.old-PID`, and a kill between them is repaired on the next run.

The target must be absent, empty or written by this project (`schemas.outputs`): anything else is
refused before anything is built, so a user's folder given as an output is never replaced.

What a killed run leaves behind (a `.tmp-PID` of a dead process, a `.old-PID`) is cleaned on the next
`atomic_folder` of the same target, with one line on stderr per folder, and a target lost between the
two fallback renames is restored from its `.old-PID`.

`pause_point(name)` is a test hook: when env MEDIA_INTENT_PAUSE_AT names this point, the process writes
its pid to $MEDIA_INTENT_PAUSE_FILE and sleeps, so a test can kill -9 it at a known moment.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from schemas.outputs import ForeignOutputError, check_output_folder, mark_output_folder

PAUSE_ENV, PAUSE_FILE_ENV = "MEDIA_INTENT_PAUSE_AT", "MEDIA_INTENT_PAUSE_FILE"
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def pause_point(name: str) -> None:
    """Sleep here for a kill test when MEDIA_INTENT_PAUSE_AT == name; a no-op otherwise."""
    if os.environ.get(PAUSE_ENV) != name:
        return
    flag = os.environ.get(PAUSE_FILE_ENV)
    if flag:
        Path(flag).write_text(f"{os.getpid()} {name}\n")
    while True:
        time.sleep(3600)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _siblings(target: Path, kind: str) -> list[tuple[Path, int]]:
    """Leftover `.NAME.KIND-PID` folders next to target, with their pid."""
    prefix = f".{target.name}.{kind}-"
    found = []
    for p in target.parent.glob(f"{prefix}*") if target.parent.is_dir() else []:
        suffix = p.name[len(prefix):]
        if suffix.isdigit():
            found.append((p, int(suffix)))
    return sorted(found)


def recover(target: Path) -> list[str]:
    """Clean what a killed run left beside `target`; returns one message per folder handled."""
    notes = []
    for old, pid in _siblings(target, "old"):
        if _alive(pid) and pid != os.getpid():
            continue
        if not target.exists():
            old.rename(target)  # killed between the two fallback renames: the old folder is the output
            notes.append(f"restored {target} from {old.name}, left by a killed run")
        else:
            shutil.rmtree(old, ignore_errors=True)
            notes.append(f"removed {old}, left by a killed run")
    for tmp, pid in _siblings(target, "tmp"):
        if _alive(pid) and pid != os.getpid():
            continue
        shutil.rmtree(tmp, ignore_errors=True)
        notes.append(f"removed unfinished {tmp}, left by a killed run ({target} was kept)")
    return notes


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the call is unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def swap_into_place(tmp: Path, target: Path) -> None:
    """Make `tmp` the new `target`; the previous target is deleted only after the new one is in place."""
    if not target.exists():
        tmp.rename(target)
        return
    pause_point("atomic:swap")
    if _exchange(tmp, target):
        shutil.rmtree(tmp)  # now holds the previous output
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    target.rename(old)
    pause_point("atomic:between-renames")
    tmp.rename(target)
    shutil.rmtree(old)


def _carry(patterns: Iterable[str], src: Path, dst: Path) -> None:
    # Copies, not hard links: a writer that rewrites a carried file in place must not change the old one.
    for pattern in patterns:
        for path in src.glob(pattern):
            if path.is_file():
                (dst / path.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dst / path.relative_to(src))


def _relocate(patterns: Iterable[str], tmp: Path, target: Path) -> None:
    """Files that record their own folder's path (e.g. a DuckDB setup.sql) get the final one."""
    for path in (p for pattern in patterns for p in tmp.glob(pattern)):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for a, b in ((tmp.resolve(), target.resolve()), (tmp, target)):
                text = text.replace(str(a), str(b))
            path.write_text(text, encoding="utf-8")


def write_text_atomic(path: Path, text: str) -> None:
    """A single file replaced in one step: readers see the old text or the new, never a torn one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def atomic_folder(target: str | Path, carry: Iterable[str] = (), relocate: Iterable[str] = (),
                  legacy: Iterable[tuple[str, str]] = ()) -> Iterator[Path]:
    """Yield a temporary sibling of `target`; on success it replaces `target` in one step.

    `carry` names files of the current target (a response cache, reusable predictions; glob patterns
    relative to the folder) that the temporary folder starts with, as copies. `relocate` names text
    files (patterns too) in which the temporary folder's path is replaced by the target's before the
    swap. `legacy` names (file, key) pairs that mark a folder written before the marker existed
    (schemas.outputs). On an exception the temporary folder is removed and `target` is untouched.

    Nothing is fsync'd: a killed process loses nothing the kernel already holds; power loss is not
    covered.
    """
    target = Path(target)
    if target.is_symlink():  # the swap would replace the link, not the folder it points to
        raise ForeignOutputError([f"{target}: is a symbolic link; pass the folder it points to "
                                  f"({target.resolve()})"])
    check_output_folder(target, legacy)
    target.parent.mkdir(parents=True, exist_ok=True)
    for note in recover(target):
        print(f"note: {note}", file=sys.stderr)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    mark_output_folder(tmp)
    try:
        if target.is_dir():
            _carry(carry, target, tmp)
        yield tmp
        _relocate(relocate, tmp, target)
        pause_point("atomic:complete")
        swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
