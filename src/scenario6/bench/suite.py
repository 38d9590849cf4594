"""``scenario6 bench`` without a name: every benchmark in one go, then one report.

Runs every benchmark of the catalog in turn, printing progress on stderr, and writes
``PERFORMANCE.md``, ``performance.png`` and ``performance.json`` (with ``--json``, the last is
also printed).
A benchmark that cannot run here is reported as not measured, with the reason.
``scenario6 bench NAME --output DIR`` measures one benchmark the same way and puts it in place
of its section in the report already in DIR, the other sections' figures kept.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import images, proxy
from .catalog import ALONE, BENCHMARKS, BY_NAME, NAMES, Benchmark, sections
from .chart import ChartUnavailable, render_chart
from .figures import NOT_MEASURED
from .harness import failure
from .machine import Machine, describe
from .plan import QUICK, Plan
from .report import CHART, MARKDOWN, RESULTS, machine_line, render_markdown, replace_section


def default_output() -> Path:
    """The checkout's docs/ folder when running from a checkout, else the current folder."""
    docs = images.REPO / "docs"
    return docs if (images.REPO / "pyproject.toml").is_file() and docs.is_dir() else Path.cwd()


def measure_all(
    plan: Plan, progress: Callable[[str], None], chosen: Sequence[Benchmark] = BENCHMARKS
) -> tuple[dict[str, Any], bool]:
    """Each chosen benchmark's results, and whether all that could run ran without an error."""
    results: dict[str, Any] = {}
    healthy = True
    total = len(chosen) + 1
    for index, benchmark in enumerate(chosen, 1):
        name = benchmark.name
        progress(f"[{index}/{total}] {name}: {benchmark.about(plan)}")
        began = time.monotonic()
        why = benchmark.why_not()
        if why:
            results[name] = {NOT_MEASURED: why}
            progress(f"      {name}: not measured: {why}")
            continue
        try:
            # The benchmarks print their own steps; they are progress here, not output.
            with contextlib.redirect_stdout(sys.stderr):
                results[name] = benchmark.measure(plan)
        except Exception as exc:  # one broken benchmark must not cost the others' figures
            healthy = False
            results[name] = {NOT_MEASURED: f"it failed: {failure(exc)}"}
            progress(f"      {name} failed after {time.monotonic() - began:.0f} s: {exc}")
            continue
        parts = results[name].values()
        if any(isinstance(part, dict) and part.get("failed") for part in parts):
            healthy = False  # a part failed; the benchmark reported it and measured the rest
        progress(f"      {name} done in {time.monotonic() - began:.0f} s")
    return results, healthy


def write_report(
    results: dict[str, Any], machine: Machine, when: datetime, output: Path, quick: bool
) -> tuple[Path, Path | None, str]:
    """Write the Markdown, the raw results (JSON) and, when matplotlib is there, the chart.
    Returns the Markdown's and the chart's paths and why the chart is missing (``""`` when it
    was drawn)."""
    output.mkdir(parents=True, exist_ok=True)
    # The raw figures first: whatever happens to the chart, a long run is never lost.
    (output / RESULTS).write_text(json.dumps(combined(results, machine, when, quick), indent=1))
    chart: Path | None = output / CHART
    title = f"scenario6 bench, {when:%Y-%m-%d %H:%M} UTC — {machine_line(machine)}"
    why = ""
    try:
        render_chart(results, output / CHART, title + (" — quick run" if quick else ""))
    except ChartUnavailable as exc:
        chart, why = None, str(exc)
    except Exception as exc:  # a plotting bug must not cost the report
        chart, why = None, f"drawing it failed: {failure(exc)}"
    markdown = output / MARKDOWN
    text = render_markdown(results, machine, when, quick=quick, chart=CHART if chart else None)
    markdown.write_text(text)
    return markdown, chart, why


def combined(
    results: dict[str, Any], machine: Machine, when: datetime, quick: bool
) -> dict[str, Any]:
    """One run as one JSON-ready object: when, where and what was measured."""
    return {
        "date": when.isoformat(timespec="seconds"),
        "quick": quick,
        "machine": asdict(machine),
        "results": results,
    }


def _plan(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else Plan()
    if levels := proxy.parse_levels(args.proxy_sessions):
        plan = Plan(**{**asdict(plan), "proxy_levels": levels})
    return plan


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def refresh(args: argparse.Namespace) -> int:
    """``scenario6 bench NAME --output DIR``: one benchmark measured into the report in DIR."""
    output = Path(args.output)
    markdown, raw = output / MARKDOWN, output / RESULTS
    if not (markdown.is_file() and raw.is_file()):
        print(
            f"scenario6 bench: no report in {output} to put {args.name} into ({MARKDOWN} and "
            f"{RESULTS}); `scenario6 bench --output {output}` writes one",
            file=sys.stderr,
        )
        return 2
    machine = describe()
    when = datetime.now(timezone.utc)
    results, healthy = measure_all(_plan(args), _progress, [BY_NAME[args.name]])
    result = results[args.name]
    if NOT_MEASURED in result:
        _progress(f"{args.name} not measured, {output} left as it was: {result[NOT_MEASURED]}")
        return 1
    machine = machine.finished()
    result[ALONE] = {
        "date": when.strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "load_start": machine.load_start,
        "load_end": machine.load_end,
    }
    combined = json.loads(raw.read_text())
    kept = {**combined["results"], args.name: result}
    combined["results"] = {name: kept[name] for name in NAMES if name in kept}
    (section,) = [made for made in sections(results) if made.name == args.name]
    markdown.write_text(replace_section(markdown.read_text(), section))
    raw.write_text(json.dumps(combined, indent=1))
    print(f"wrote the {args.name} section of {markdown} and its figures in {raw}")
    if (output / CHART).is_file():
        _redraw(output / CHART, combined, f"{args.name} {when:%Y-%m-%d %H:%M} UTC")
    return 0 if healthy else 1


def _redraw(chart: Path, combined: dict[str, Any], measured: str) -> None:
    """Draw the chart again from every figure the report now holds, so that it shows the
    benchmark just measured; a chart that cannot be drawn is left as it was."""
    title = f"scenario6 bench, {combined['date'][:16].replace('T', ' ')} UTC; {measured}"
    try:
        render_chart(combined["results"], chart, title)
    except ChartUnavailable as exc:
        _progress(f"{chart} left as it was: {exc}")
    except Exception as exc:  # a plotting bug must not cost the figures just written
        _progress(f"{chart} left as it was: drawing it failed: {failure(exc)}")
    else:
        print(f"drew {chart} again")


def run(args: argparse.Namespace) -> int:
    plan = _plan(args)
    progress = _progress
    machine = describe()
    when = datetime.now(timezone.utc)
    began = time.monotonic()
    results, healthy = measure_all(plan, progress)
    machine = machine.finished()
    output = Path(args.output) if args.output else default_output()
    steps = len(BENCHMARKS) + 1
    progress(f"[{steps}/{steps}] report: writing to {output}")
    markdown, chart, why = write_report(results, machine, when, output, args.quick)
    if args.json:
        print(json.dumps(combined(results, machine, when, args.quick)))
    else:
        print(f"wrote {markdown}" + (f" and {chart}" if chart else ""))
    if why:
        print(f"no chart: {why}", file=sys.stderr)
    progress(f"all benchmarks took {time.monotonic() - began:.0f} s")
    return 0 if healthy else 1
