"""The performance report's chart: results → one PNG with a panel per benchmark that has one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenario6.extras import missing

from .catalog import BENCHMARKS, sections

if TYPE_CHECKING:
    from matplotlib.typing import HashableList

SIZE_INCHES = (18.0, 8.0)
DPI = 100  # 1800 × 800 pixels
COLUMNS = 3
EMPTY = "."  # matplotlib's name for a cell of the mosaic that holds no panel


class ChartUnavailable(RuntimeError):
    """matplotlib is not installed; the message says how to install it."""


def render_chart(results: Mapping[str, Any], path: Path, title: str = "") -> Path:
    """Draw every benchmark's panel into ``path`` (PNG, 1800 × 800), in the catalog's order."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display, no GUI toolkit
        from matplotlib.figure import Figure as Canvas
    except ImportError as exc:
        raise ChartUnavailable(missing("the chart", "bench", exc.name)) from exc

    canvas = Canvas(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    if title:
        canvas.suptitle(title, fontsize=11)
    drawn = {b.name: b.panel for b in BENCHMARKS if b.panel is not None}
    axes = canvas.subplot_mosaic(mosaic({name: panel.columns for name, panel in drawn.items()}))
    found = {section.name: section for section in sections(results)}
    for name, panel in drawn.items():
        panel.draw(axes[name], results.get(name) or {}, found[name])
    canvas.savefig(path, format="png", dpi=DPI)
    return path


def mosaic(widths: Mapping[str, int]) -> list[HashableList[str]]:
    """Rows of COLUMNS cells, each panel's name repeated over the columns it spans.

    >>> mosaic({"reload": 1, "proxy": 1, "browser": 1, "images": 1, "batch": 2})
    [['reload', 'proxy', 'browser'], ['images', 'batch', 'batch']]
    """
    rows: list[HashableList[str]] = [[]]
    for name, columns in widths.items():
        if len(rows[-1]) + columns > COLUMNS:
            rows.append([])
        rows[-1] += [name] * columns
    return [row + [EMPTY] * (COLUMNS - len(row)) for row in rows]
