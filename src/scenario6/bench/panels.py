"""The chart's panels: each draws one benchmark's figures into its part of the PNG."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .figures import Figure, Section

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True)
class Panel:
    """How a benchmark appears in the chart: what draws it, and how many columns it spans."""

    draw: Callable[[Axes, Mapping[str, Any], Section], None]
    columns: int = 1


def _measured(section: Section, unit: str) -> list[Figure]:
    return [
        f for f in section.figures if f.missing is None and f.unit == unit and f.low is not None
    ]


def _missing(axes: Axes, section: Section, title: str) -> bool:
    """Write why nothing was measured into the panel; True when that is all it shows."""
    axes.set_title(title)
    absent = [f for f in section.figures if f.missing is not None]
    if len(absent) < len(section.figures):
        return False
    axes.text(0.5, 0.5, f"not measured:\n{absent[0].missing}", ha="center", va="center",
              wrap=True, transform=axes.transAxes)  # fmt: skip
    axes.set_axis_off()
    return True


def _spread_bars(axes: Axes, figures: list[Figure], unit: str) -> None:
    """Horizontal bars to the median, whiskers from min to max."""
    labels = [textwrap.fill(f.label.replace("`", ""), 30) for f in figures]
    medians = [f.middle or 0.0 for f in figures]
    below = [(f.middle or 0.0) - (f.low or 0.0) for f in figures]
    above = [(f.high or 0.0) - (f.middle or 0.0) for f in figures]
    rows = list(range(len(figures)))
    axes.barh(rows, medians, xerr=[below, above], capsize=4, color="#4c78a8")
    axes.set_yticks(rows, labels, fontsize=8)
    axes.invert_yaxis()
    for row, figure in enumerate(figures):
        place = (figure.high or figure.middle or 0.0, row)
        axes.annotate(f"  {figure.middle:.3g} {unit}", place, va="center", fontsize=8)


def reload_panel(axes: Axes, result: Mapping[str, Any], section: Section) -> None:
    if _missing(axes, section, "Reload: edit → served, and run start (median, min–max)"):
        return
    figures = _measured(section, "s")
    _spread_bars(axes, figures, "s")
    axes.set_xscale("log")
    # Room left of the fastest bar, or a log axis would start at its tip and hide it.
    axes.set_xlim(left=min(f.low or 1.0 for f in figures) / 4)
    axes.set_xlabel("seconds (log scale)")


def proxy_panel(axes: Axes, result: Mapping[str, Any], section: Section) -> None:
    if _missing(axes, section, "Session proxy: latency added per traversal"):
        return
    rows = result["added_latency_per_traversal"]
    sessions = [row["sessions"] for row in rows]
    axes.plot(sessions, [row["added_ms_p50"] for row in rows], "o-", label="median")
    axes.plot(sessions, [row["added_ms_p99"] for row in rows], "s--", label="p99")
    axes.axhline(20, color="grey", linestyle=":", label="p99 target 20 ms")
    axes.set_xlabel("concurrent sessions")
    axes.set_ylabel("added latency (ms)")
    if max((row["added_ms_p99"] for row in rows), default=0) > 100:
        axes.set_yscale("symlog", linthresh=1)  # saturated levels would flatten the rest
        # Noise can make a quiet level's difference slightly negative; no axis below zero.
        axes.set_ylim(bottom=0)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)


def browser_panel(axes: Axes, result: Mapping[str, Any], section: Section) -> None:
    if _missing(axes, section, "Browser: audio latency (min, median, max)"):
        return
    figures = _measured(section, "ms")
    width = 0.27
    for offset, (name, attribute) in enumerate(
        (("min", "low"), ("median", "middle"), ("max", "high"))
    ):
        places = [index + (offset - 1) * width for index in range(len(figures))]
        heights = [getattr(f, attribute) or 0.0 for f in figures]
        axes.bar(places, heights, width, label=name)
    labels = [textwrap.fill(f.label, 14) for f in figures]
    axes.set_xticks(range(len(figures)), labels, fontsize=9)
    for index, figure in enumerate(figures):
        axes.annotate(f"{figure.middle:.3g}", (index, figure.middle or 0.0), ha="center",
                      va="bottom", fontsize=8)  # fmt: skip
    axes.set_ylabel("milliseconds")
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)


def images_panel(axes: Axes, result: Mapping[str, Any], section: Section) -> None:
    if _missing(axes, section, "Images: uncompressed size"):
        return
    figures = [f for f in section.figures if f.missing is None and f.unit == "MB"]
    labels = [textwrap.fill(f.label.replace("`", ""), 22) for f in figures]
    sizes = [f.middle or 0.0 for f in figures]
    axes.barh(range(len(figures)), sizes, color="#72b7b2")
    axes.set_yticks(range(len(figures)), labels, fontsize=8)
    axes.invert_yaxis()
    for row, size in enumerate(sizes):
        axes.annotate(f" {size:.0f} MB", (size, row), va="center", fontsize=8)
    axes.set_xlabel("megabytes (1 build each)")


def batch_panel(axes: Axes, result: Mapping[str, Any], section: Section) -> None:
    title = "Batched backend: tick time against live conversations"
    if _missing(axes, section, title):
        return
    levels = result["levels"]
    counts = [level["conversations"] for level in levels]
    axes.plot(counts, [level["tick"]["p50_ms"] for level in levels], "o-", label="tick, median")
    axes.plot(counts, [level["tick"]["p90_ms"] for level in levels], "s--", label="tick, p90")
    joins = [level for level in levels if level["join"]["others_answer"]]
    answers = [level["join"]["others_answer"]["p90_ms"] for level in joins]
    if joins:
        axes.plot(
            [level["conversations"] for level in joins],
            answers,
            "^:",
            label="while the last one joins: the others' audio → answer, p90",
        )
    budget = result["frame_budget_ms"]
    axes.axhline(budget, color="grey", linestyle=":", label=f"budget {budget:g} ms")
    for count, level in zip(counts, levels, strict=True):
        place = (count, level["tick"]["p50_ms"])
        axes.annotate(f"  {level['tick']['p50_ms']:.3g}", place, va="top", fontsize=8)
    axes.set_xscale("log", base=2)
    axes.set_xticks(counts, [str(count) for count in counts])
    axes.set_xlabel("live conversations on one model")
    axes.set_ylabel("milliseconds per 80 ms frame")
    highest = max([level["tick"]["p90_ms"] for level in levels] + answers)
    if highest > 3 * budget:
        # Frames that fall behind while someone joins reach seconds; on a log axis the ticks
        # stay readable beside them.
        from matplotlib.ticker import ScalarFormatter

        axes.set_yscale("log")
        axes.yaxis.set_major_formatter(ScalarFormatter())
        axes.set_ylabel("milliseconds per 80 ms frame (log scale)")
    else:
        axes.set_ylim(bottom=0)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
