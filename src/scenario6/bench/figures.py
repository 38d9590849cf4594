"""The report's rows: a figure is a min / median / max over its samples, or one value.

A figure with one sample says so; a figure that was not measured says why. Each benchmark's
result becomes a ``Section`` of figures and notes (``tables``, in the order of ``catalog``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NOT_MEASURED = "not_measured"


@dataclass(frozen=True)
class Figure:
    """One row of the report.

    >>> Figure.spread("edit → served", "s", (0.1, 0.15, 0.2), "7 edits").middle
    0.15
    """

    label: str
    unit: str
    low: float | None = None
    middle: float | None = None
    high: float | None = None
    samples: str = ""
    note: str = ""
    missing: str | None = None

    @classmethod
    def spread(
        cls, label: str, unit: str, values: tuple[float, float, float], samples: str, note: str = ""
    ) -> Figure:
        low, middle, high = values
        return cls(label, unit, low, middle, high, samples, note)

    @classmethod
    def single(cls, label: str, unit: str, value: float, samples: str, note: str = "") -> Figure:
        return cls(label, unit, middle=value, samples=samples, note=note)

    @classmethod
    def absent(cls, label: str, why: str) -> Figure:
        return cls(label, "", missing=why)


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    figures: list[Figure]
    notes: list[str] = field(default_factory=list)


# A benchmark's result → its figures and the notes under them.
Table = Callable[[Mapping[str, Any]], tuple[list[Figure], list[str]]]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def number(value: float) -> str:
    """Three significant digits or so: 0.147, 1.61, 15.9, 231."""
    size = abs(value)
    if size >= 100 or isinstance(value, int):
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"
