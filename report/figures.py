"""Figures for the reports: matplotlib without a display, a figure as PNG bytes or as a file, and PNG
bytes as base64 for a self-contained HTML page."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg backend, imported on first use (it is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on CI or servers; must precede pyplot
    import matplotlib.pyplot as plt

    return plt


def to_png(fig: Any, dpi: int) -> bytes:
    """The figure laid out tight, as PNG bytes; the figure is closed."""
    plt = pyplot()
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def save_png(fig: Any, path: Path, dpi: int) -> Path:
    """The figure cropped to its contents, written to `path` (folders made); the caller closes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
