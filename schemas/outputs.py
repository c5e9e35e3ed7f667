"""Output folders this project may write into or replace, and the marker that says so.

Every command that writes a folder (a dataset, an eval, an audit, a model directory, an export) first
calls `claim_output_folder(target)`:

- a folder that does not exist, or is empty, is ours to use;
- a folder holding the marker file `.media-intent` was written by this project and may be replaced;
- a folder written before the marker existed is recognised by its own manifest (`legacy`: a file name
  and a text its start holds, e.g. a dataset's manifest.json holding `"sha256"`);
- anything else is refused with one line (`ForeignOutputError`, a ConfigError, so every command exits 2)
  and nothing is touched: a user's folder passed by mistake as `--out` is never deleted.

`atomic_folder` (schemas/atomic.py) claims its target before building the replacement.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from schemas.config import ConfigError

MARKER = ".media-intent"
MARKER_TEXT = ("This folder was written by media-intent; the command that wrote it may replace it.\n"
               "Delete this file and the project will refuse to overwrite the folder.\n")


class ForeignOutputError(ConfigError):
    """The output folder holds files this project did not write."""


def _legacy_owned(target: Path, legacy: Iterable[tuple[str, str]]) -> bool:
    """Whether one of the (file name, text) pairs matches: that file exists and its start holds the text."""
    for name, needle in legacy:
        try:
            with (target / name).open("r", encoding="utf-8", errors="replace") as f:
                if needle in f.read(65536):
                    return True
        except OSError:
            continue
    return False


def check_output_folder(target: str | Path, legacy: Iterable[tuple[str, str]] = ()) -> None:
    """Raise ForeignOutputError unless `target` is absent, empty or written by this project."""
    target = Path(target)
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir():
        raise ForeignOutputError([f"{target}: exists and is not a folder; choose another output folder"])
    if (target / MARKER).is_file() or _legacy_owned(target, legacy):
        return
    entries = sorted(p.name for p in target.iterdir())
    if not entries:
        return
    shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
    raise ForeignOutputError([f"{target}: not written by this project (no {MARKER} marker) and not empty "
                              f"({shown}); choose another output folder or empty this one, nothing was "
                              "touched"])


def mark_output_folder(folder: str | Path) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.is_file():
        marker.write_text(MARKER_TEXT, encoding="utf-8")


def claim_output_folder(target: str | Path, legacy: Iterable[tuple[str, str]] = ()) -> Path:
    """Check `target` (see check_output_folder), then create it with the marker; returns it."""
    check_output_folder(target, legacy)
    mark_output_folder(target)
    return Path(target)
