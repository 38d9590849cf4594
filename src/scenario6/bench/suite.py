"""``scenario6 bench`` without a name: every benchmark in one go, then one report.

Runs reload, proxy, browser, images, soak, model and batch in turn, printing progress on stderr, and
writes ``PERFORMANCE.md``, ``performance.png`` and ``performance.json`` (with ``--json``, the
last is also printed).
A benchmark that cannot run here is reported as not measured, with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scenario6.extras import missing

from . import batch, browser, images, model, probe, proxy, reload, soak
from .chart import ChartUnavailable, render_chart
from .figures import NOT_MEASURED, ORDER
from .harness import failure
from .machine import Machine, describe
from .report import CHART, MARKDOWN, RESULTS, machine_line, render_markdown


@dataclass(frozen=True)
class Plan:
    """How long and how often each benchmark measures."""

    edits: int = reload.EDITS
    rebuilds: int = reload.REBUILDS
    warm_starts: int = reload.WARM_STARTS
    proxy_levels: list[int] = field(default_factory=lambda: list(proxy.LEVELS))
    proxy_seconds: float = proxy.SECONDS
    browser_seconds: float = 15.0
    browser_warm_up: float = 3.0
    soak_seconds: float = 60.0
    model_frames: int = model.FRAMES
    batch_levels: list[int] = field(default_factory=lambda: list(batch.LEVELS))
    batch_frames: int = batch.FRAMES


# A few minutes in all: enough to see every figure, too little to compare them.
QUICK = Plan(
    edits=3,
    rebuilds=2,
    warm_starts=2,
    proxy_levels=[1, 20],
    proxy_seconds=3.0,
    browser_seconds=5.0,
    browser_warm_up=1.0,
    soak_seconds=12.0,
    model_frames=20,
    batch_levels=[1, 2, 4],
    batch_frames=10,
)


def default_output() -> Path:
    """The checkout's docs/ folder when running from a checkout, else the current folder."""
    docs = images.REPO / "docs"
    return docs if (images.REPO / "pyproject.toml").is_file() and docs.is_dir() else Path.cwd()


def _reload(plan: Plan) -> dict[str, Any]:
    return reload.measure(plan.edits, plan.rebuilds, plan.warm_starts)


def _proxy(plan: Plan) -> dict[str, Any]:
    return dict(proxy.measure(plan.proxy_levels, plan.proxy_seconds))


def _browser(plan: Plan) -> dict[str, Any]:
    return browser.measure(plan.browser_seconds, warm_up=plan.browser_warm_up)


def _images(plan: Plan) -> dict[str, Any]:
    runtime = images.engine()
    base = images.choose_base(runtime, os.environ)
    return dict(images.measure(runtime, base, os.environ.get("SCENARIO6_BACKEND_IMAGE")))


def _soak(plan: Plan) -> dict[str, Any]:
    return asdict(soak.measure(plan.soak_seconds))


def _model(plan: Plan) -> dict[str, Any]:
    return model.measure(probe.interpreter(None), frames=plan.model_frames)


def _batch(plan: Plan) -> dict[str, Any]:
    python = probe.interpreter(None)
    return batch.measure(python, levels=plan.batch_levels, frames=plan.batch_frames)


def _why_not(name: str) -> str:
    """Why a benchmark cannot run on this machine, or ``""``."""
    checkout = (images.REPO / "apphost.py").is_file() and (images.REPO / ".git").exists()
    if name == "reload" and not checkout:
        return f"needs a git checkout of the repository ({images.REPO} is not one)"
    if name == "browser" and not Path(browser.CHROMIUM).exists():
        return f"{browser.CHROMIUM} not found (apt-get install chromium)"
    if name == "browser" and importlib.util.find_spec("playwright") is None:
        return missing("the browser benchmark", "bench", "playwright")
    if name == "images":
        if not (images.REPO / "moshi" / "Dockerfile").is_file():
            return f"needs a checkout with the Dockerfiles ({images.REPO} has none)"
        return images.engine_unavailable()
    if name in ("model", "batch"):
        return probe.why_not()
    return ""


def _about(name: str, plan: Plan) -> str:
    return {
        "reload": f"{plan.edits} edits, {plan.rebuilds} image rebuilds, "
        f"1 + {plan.warm_starts} starts per backend runtime",
        "proxy": f"sessions {', '.join(map(str, plan.proxy_levels))}, "
        f"{plan.proxy_seconds:g} s each, direct and through the proxy",
        "browser": f"headless Chromium, {plan.browser_seconds:g} s of audio",
        "images": "frontend and loopback images, Docker's cache applies",
        "soak": f"{soak.SESSIONS} sessions through the proxy for {plan.soak_seconds:g} s",
        "model": f"the real server's models (tiny, random weights), {plan.model_frames} frames "
        "and two prompt phases",
        "batch": f"the batched engine (tiny, random weights), "
        f"{', '.join(map(str, plan.batch_levels))} conversations, {plan.batch_frames} ticks each",
    }[name]


MEASURES: dict[str, Callable[[Plan], dict[str, Any]]] = {
    "reload": _reload,
    "proxy": _proxy,
    "browser": _browser,
    "images": _images,
    "soak": _soak,
    "model": _model,
    "batch": _batch,
}


def measure_all(plan: Plan, progress: Callable[[str], None]) -> tuple[dict[str, Any], bool]:
    """Every benchmark's results, and whether all that could run ran without an error."""
    results: dict[str, Any] = {}
    healthy = True
    total = len(ORDER) + 1
    for index, name in enumerate(ORDER, 1):
        progress(f"[{index}/{total}] {name}: {_about(name, plan)}")
        began = time.monotonic()
        why = _why_not(name)
        if why:
            results[name] = {NOT_MEASURED: why}
            progress(f"      {name}: not measured: {why}")
            continue
        try:
            # The benchmarks print their own steps; they are progress here, not output.
            with contextlib.redirect_stdout(sys.stderr):
                results[name] = MEASURES[name](plan)
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


def run(args: argparse.Namespace) -> int:
    plan = QUICK if args.quick else Plan()
    if levels := proxy.parse_levels(args.proxy_sessions):
        plan = Plan(**{**asdict(plan), "proxy_levels": levels})

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    machine = describe()
    when = datetime.now(timezone.utc)
    began = time.monotonic()
    results, healthy = measure_all(plan, progress)
    machine = machine.finished()
    output = Path(args.output) if args.output else default_output()
    progress(f"[{len(ORDER) + 1}/{len(ORDER) + 1}] report: writing to {output}")
    markdown, chart, why = write_report(results, machine, when, output, args.quick)
    if args.json:
        print(json.dumps(combined(results, machine, when, args.quick)))
    else:
        print(f"wrote {markdown}" + (f" and {chart}" if chart else ""))
    if why:
        print(f"no chart: {why}", file=sys.stderr)
    progress(f"all benchmarks took {time.monotonic() - began:.0f} s")
    return 0 if healthy else 1
