"""The performance report as Markdown: results + machine + date → text, nothing else."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .catalog import NAMES, sections
from .figures import Figure, Section, number
from .machine import Machine

MARKDOWN = "PERFORMANCE.md"
CHART = "performance.png"
RESULTS = "performance.json"


def render_markdown(
    results: Mapping[str, Any],
    machine: Machine,
    when: datetime,
    *,
    quick: bool = False,
    chart: str | None = CHART,
) -> str:
    """The whole report. ``when`` is shown in UTC; ``chart`` is the PNG beside it, if any."""
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Performance",
        "",
        f"Measured by `scenario6 bench` on {stamp}. Every figure comes from that run (raw "
        f"figures: [{RESULTS}]({RESULTS})); "
        "[benchmarks](benchmarks.md) says how each is measured. Figures depend on the "
        "machine: run `scenario6 bench` on yours.",
    ]
    if quick:
        lines += ["", "**Quick run** (`--quick`): short durations and few samples, a smoke test "
                  "rather than figures to compare."]  # fmt: skip
    if chart:
        lines += ["", f"![Reload, proxy, browser, image and batched-backend figures]({chart})"]
    lines += ["", "## Machine", "", *_machine(machine)]
    for section in sections(results):
        lines += ["", *render_section(section)]
    return "\n".join(lines) + "\n"


def render_section(section: Section) -> list[str]:
    """One benchmark's part of the report: its heading, its table, the notes under it."""
    lines = [f"## {section.title}", ""]
    lines += ["| figure | min | median | max | samples | notes |", "|---|--:|--:|--:|---|---|"]
    lines += [_row(figure) for figure in section.figures]
    for note in section.notes:
        lines += ["", note]
    return lines


def replace_section(markdown: str, section: Section) -> str:
    """``markdown`` (a whole report) with ``section`` rendered anew in its place, the
    catalog's n-th after the machine's; the rest stays as it was."""
    parts = re.split(r"(?m)^(?=## )", markdown)
    if len(parts) != 2 + len(NAMES):
        raise ValueError(f"not a report of {len(NAMES)} benchmarks: {len(parts) - 2} sections")
    index = 2 + NAMES.index(section.name)
    gap = "\n" if parts[index].endswith("\n\n") else ""
    parts[index] = "\n".join(render_section(section)) + "\n" + gap
    return "".join(parts)


def machine_line(machine: Machine) -> str:
    """One line: CPU, RAM, OS, kernel."""
    return (
        f"{machine.cpu_count} × {machine.cpu_model}, {machine.ram_gib:g} GiB RAM, "
        f"{machine.os}, Linux {machine.kernel}"
    )


def _machine(machine: Machine) -> list[str]:
    load_end = _load(machine.load_end) if machine.load_end else "not read"
    return [
        f"- **Machine:** {machine_line(machine)}",
        f"- **Software:** Python {machine.python}; "
        f"container engine {machine.container_engine or 'not available'}; "
        f"Chromium {_chromium(machine.chromium) or 'not available'}",
        f"- **Load average** (1, 5, 15 min) at the start: {_load(machine.load_start)}; "
        f"at the end: {load_end}. The end includes the benchmarks' own load; a start above "
        f"{machine.cpu_count} means something else shared the cores and the figures are worse "
        "than the machine can do.",
    ]


def _chromium(version: str | None) -> str | None:
    # "Chromium 131.0.6778.85 built on Debian 12.8" → "131.0.6778.85 built on Debian 12.8"
    return version.removeprefix("Chromium ").strip() if version else None


def _load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def _row(figure: Figure) -> str:
    if figure.missing is not None:
        cells = [figure.label, "", f"not measured: {figure.missing}", "", "", ""]
    else:
        unit = f" {figure.unit}" if figure.unit else ""

        def cell(value: float | None) -> str:
            return "—" if value is None else f"{number(value)}{unit}"

        cells = [figure.label, cell(figure.low), cell(figure.middle), cell(figure.high)]
        cells += [figure.samples, figure.note]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
