"""``scenario6 run``: the app in run mode — backend in a container, frontend native with reload."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from scenario6.facts.names import TOKEN
from scenario6.facts.slots import SLOTS_ENV

ENV_FRONTEND = "SCENARIO6_FRONTEND"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the app locally (backend in a container, frontend with fast reload)",
        description="Start every resource of the app model (apphost.py) on this machine, in "
        "dependency order, and stop them on Ctrl-C.",
    )
    parser.add_argument(
        "--backend",
        default=os.environ.get("SCENARIO6_BACKEND", "auto"),
        help=f"auto (PersonaPlex when Docker, an NVIDIA runtime and {TOKEN} are there, else "
        f"loopback), personaplex, loopback, batched (PersonaPlex holding {SLOTS_ENV} "
        "conversations at once), or the URL of a running backend",
    )
    parser.add_argument(
        "--backend-runtime",
        choices=["container", "native"],
        default=os.environ.get("SCENARIO6_BACKEND_RUNTIME") or None,
        help="run the loopback backend in a container or as a local process (default: a "
        "container for --backend loopback when an engine answers; a local process when auto "
        "falls back to it)",
    )
    parser.add_argument(
        "--frontend",
        choices=["python", "docker"],
        default=os.environ.get(ENV_FRONTEND, "python"),
        help=f"frontend from the local venv with reload (default) or in Docker (${ENV_FRONTEND})",
    )
    parser.add_argument("--apphost", type=Path, help="the app model file (default: ./apphost.py)")
    parser.add_argument("--no-reload", action="store_true", help="do not reload on source edits")
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="also run the Aspire dashboard (local image only) and send every resource's "
        "telemetry to it",
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds each resource may take to become healthy"
    )
    parser.add_argument(
        "--debug",
        type=int,
        nargs="?",
        const=5678,
        metavar="PORT",
        help="run the frontend under debugpy, listening on 127.0.0.1:PORT (default 5678) for "
        "an IDE to attach; reload is off meanwhile",
    )
    parser.add_argument(
        "--skip-checks",
        action="store_true",
        help="start without running the doctor's checks for this mode first",
    )
    parser.set_defaults(handler=run)


def find_apphost(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "apphost.py").is_file():
            return folder / "apphost.py"
    return None


def add_dashboard(app: Any, runtime: Any, printer: Any) -> None:
    from scenario6.run import dashboard

    image = dashboard.dashboard_image(runtime) if runtime is not None else None
    if image is None or runtime is None:
        printer.warn(dashboard.missing_image_help(runtime.name if runtime else "docker"))
        return
    dashboard.add_dashboard(app, image)
    printer.info(f"dashboard: {dashboard.dashboard_url()}")


def _preflight(choice: Any, root: Path) -> bool:
    """The doctor's checks for this run; stop with its message rather than fail later."""
    from scenario6.doctor import run_checks

    report = run_checks(
        mode="run", backend=choice.backend, backend_placement=choice.backend_placement, root=root
    )
    # The run engine makes and syncs the venv itself, so only the rest can block.
    blocking = [r for r in report.failures if r.name != "venv"]
    if blocking:
        print(report.render(color=sys.stderr.isatty()), file=sys.stderr)
    return not blocking


def run(args: argparse.Namespace) -> int:
    from scenario6.apphost import AppModelError, Configuration, Operation, load_apphost
    from scenario6.apphost.parameters import ParameterResolver
    from scenario6.run.choice import ChoiceError, choose
    from scenario6.run.engine import RunEngine
    from scenario6.run.printer import Printer
    from scenario6.run.starter import EngineOptions
    from scenario6.run.venv import VenvUnavailable

    printer = Printer()
    apphost = args.apphost or find_apphost(Path.cwd())
    if apphost is None or not apphost.is_file():
        printer.error(f"no app model: {apphost or 'apphost.py'} not found (use --apphost FILE)")
        return 2
    configuration = Configuration.for_app_dir(apphost.resolve().parent)
    try:
        choice = choose(args.backend, args.backend_runtime, args.frontend, configuration)
    except ChoiceError as error:
        printer.error(str(error))
        return 1
    except AppModelError as error:  # a setting such as USE_GPU with a bad value
        printer.error(f"{apphost.name}: {error}")
        return 2
    for warning in choice.warnings:
        printer.warn(warning)
    if not args.skip_checks and not _preflight(choice, apphost.resolve().parent):
        return 1
    options = EngineOptions(
        reload=not args.no_reload, startup_timeout=args.timeout, debug_port=args.debug
    )
    stack = choice.stack  # handed to the app model as chosen; only a fallback makes another
    while True:
        try:
            app = load_apphost(apphost, Operation.RUN, stack=stack)
            if args.dashboard:
                add_dashboard(app, choice.runtime, printer)
            resolver = ParameterResolver(app.configuration)
            engine = RunEngine(
                app, runtime=choice.runtime, parameters=resolver, printer=printer, options=options
            )
            printer.info(f"backend: {stack.backend} ({stack.backend_placement}), "
                         f"frontend: {stack.frontend}")  # fmt: skip
            return asyncio.run(engine.run())
        except AppModelError as error:
            printer.error(f"{apphost.name}: {error}")
            return 2
        except VenvUnavailable as error:
            if stack.frontend != "python" or choice.runtime is None:
                printer.error(str(error))
                return 1
            printer.warn(f"{error}\n  Falling back to the frontend in Docker (--frontend docker).")
            stack = replace(stack, frontend="docker")
        except KeyboardInterrupt:
            print(file=sys.stderr)
            return 130
