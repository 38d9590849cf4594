"""Every benchmark as one record: how the suite runs it, how the report and the chart show it.

Adding a benchmark means adding its module (``scenario6 bench NAME`` runs its ``run``) and
one ``Benchmark`` to ``BENCHMARKS``; the suite, the report's sections and the chart's panels
follow that tuple's order.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scenario6.extras import missing

from . import batch, browser, images, load, model, probe, proxy, reload, soak
from .figures import NOT_MEASURED, Figure, Section, Table
from .panels import Panel, batch_panel, browser_panel, images_panel, proxy_panel, reload_panel
from .plan import Plan
from .tables import (
    batch_table,
    browser_table,
    images_table,
    load_table,
    model_table,
    proxy_table,
    reload_table,
    soak_table,
)


def _runs_anywhere() -> str:
    return ""


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: ``about`` and ``measure`` for the suite, ``table`` for the report,
    ``why_not`` (``""`` when it can run here) and an optional chart ``panel``.

    >>> [benchmark.name for benchmark in BENCHMARKS][:2]
    ['reload', 'proxy']
    """

    name: str  # also its module's, in scenario6.bench
    title: str
    about: Callable[[Plan], str]
    measure: Callable[[Plan], dict[str, Any]]
    table: Table
    why_not: Callable[[], str] = _runs_anywhere
    panel: Panel | None = None


# In a result measured on its own into an existing report: when, how, and how busy the machine was.
ALONE = "measured_alone"


def sections(results: Mapping[str, Any]) -> list[Section]:
    """What the report shows for a run's results (one entry per benchmark, or
    ``{"not_measured": why}``), in the catalog's order."""
    made = []
    for benchmark in BENCHMARKS:
        result = results.get(benchmark.name) or {NOT_MEASURED: "not run"}
        if NOT_MEASURED in result:
            absent = [Figure.absent("every figure", result[NOT_MEASURED])]
            made.append(Section(benchmark.name, benchmark.title, absent))
        else:
            figures, notes = benchmark.table(result)
            if ALONE in result:
                notes = [*notes, _alone(benchmark.name, result[ALONE])]
            made.append(Section(benchmark.name, benchmark.title, figures, notes))
    return made


def _alone(name: str, when: Mapping[str, Any]) -> str:
    start, end = (" / ".join(f"{v:.2f}" for v in when[key]) for key in ("load_start", "load_end"))
    run = "a quick run, " if when["quick"] else ""
    return (
        f"Measured on {when['date']} apart from the rest of this report ({run}"
        f"`scenario6 bench {name} --output`); load average at the start {start}, at the end "
        f"{end}."
    )


def _in_a_checkout() -> str:
    checkout = (images.REPO / "apphost.py").is_file() and (images.REPO / ".git").exists()
    return "" if checkout else f"needs a git checkout of the repository ({images.REPO} is not one)"


def _with_chromium() -> str:
    if not Path(browser.CHROMIUM).exists():
        return f"{browser.CHROMIUM} not found (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return missing("the browser benchmark", "bench", "playwright")
    return ""


def _with_an_engine() -> str:
    if not (images.REPO / "moshi" / "Dockerfile").is_file():
        return f"needs a checkout with the Dockerfiles ({images.REPO} has none)"
    return images.engine_unavailable()


def _build_images(plan: Plan) -> dict[str, Any]:
    runtime = images.engine()
    base = images.choose_base(runtime, os.environ)
    return dict(images.measure(runtime, base, os.environ.get("SCENARIO6_BACKEND_IMAGE")))


def _listed(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers))


BENCHMARKS = (
    Benchmark(
        "reload",
        "Reload: a frontend edit until the new code answers",
        about=lambda plan: (
            f"{plan.edits} edits, {plan.rebuilds} image rebuilds, "
            f"1 + {plan.warm_starts} starts per backend runtime"
        ),
        measure=lambda plan: reload.measure(plan.edits, plan.rebuilds, plan.warm_starts),
        table=reload_table,
        why_not=_in_a_checkout,
        panel=Panel(reload_panel),
    ),
    Benchmark(
        "proxy",
        "Session proxy: added latency and capacity",
        about=lambda plan: (
            f"sessions {_listed(plan.proxy_levels)}, "
            f"{plan.proxy_seconds:g} s each, direct and through the proxy"
        ),
        measure=lambda plan: dict(proxy.measure(plan.proxy_levels, plan.proxy_seconds)),
        table=proxy_table,
        panel=Panel(proxy_panel),
    ),
    Benchmark(
        "browser",
        "Browser: the web client's audio latency",
        about=lambda plan: f"headless Chromium, {plan.browser_seconds:g} s of audio",
        measure=lambda plan: browser.measure(plan.browser_seconds, warm_up=plan.browser_warm_up),
        table=browser_table,
        why_not=_with_chromium,
        panel=Panel(browser_panel),
    ),
    Benchmark(
        "images",
        "Images: sizes and build times",
        about=lambda plan: "frontend and loopback images, Docker's cache applies",
        measure=_build_images,
        table=images_table,
        why_not=_with_an_engine,
        panel=Panel(images_panel),
    ),
    Benchmark(
        "soak",
        "Soak: many sessions for a while",
        about=lambda plan: (
            f"{soak.SESSIONS} sessions through the proxy for {plan.soak_seconds:g} s"
        ),
        measure=lambda plan: asdict(soak.measure(plan.soak_seconds)),
        table=soak_table,
    ),
    Benchmark(
        "load",
        f"Load test: callers at real time via one frontend, then {load.FRONTENDS} sharing Redis",
        about=lambda plan: (
            f"{plan.load_sessions} callers, {load.BACKENDS} loopback backends, "
            f"{plan.load_seconds:g} s each; 1 frontend, then {load.FRONTENDS} on Redis"
        ),
        measure=lambda plan: load.measure(plan.load_sessions, plan.load_seconds),
        table=load_table,
    ),
    Benchmark(
        "model",
        "Model: the real server's work per 80 ms frame, and to the handshake",
        about=lambda plan: (
            "the real server's models (tiny, random weights), "
            f"{plan.model_frames} frames and two prompt phases"
        ),
        measure=lambda plan: model.measure(probe.interpreter(None), frames=plan.model_frames),
        table=model_table,
        why_not=probe.why_not,
    ),
    Benchmark(
        "batch",
        "Batch: N conversations on one model, per 80 ms tick",
        about=lambda plan: (
            "the batched stepper (tiny, random weights), "
            f"{_listed(plan.batch_levels)} conversations, {plan.batch_frames} ticks each"
        ),
        measure=lambda plan: batch.measure(
            probe.interpreter(None), levels=plan.batch_levels, frames=plan.batch_frames
        ),
        table=batch_table,
        why_not=probe.why_not,
        # The tick against live conversations needs the room of two panels.
        panel=Panel(batch_panel, columns=2),
    ),
)
NAMES = tuple(benchmark.name for benchmark in BENCHMARKS)
BY_NAME = {benchmark.name: benchmark for benchmark in BENCHMARKS}
