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
from scenario6.run.control.state import ALREADY_RUNNING

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
        nargs="?",
        const="aspire",
        choices=["aspire"],
        help="aspire (the default when given alone): also run the Aspire dashboard (local image "
        "only), serve it our resources (its gRPC resource service) and send it every "
        "resource's telemetry",
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
        "-d",
        "--detach",
        action="store_true",
        help="run in the background: return once every resource is healthy, print the URLs, "
        "and leave the output in .scenario6/run/ (then: scenario6 ps, describe, logs, restart, "
        "stop)",
    )
    parser.add_argument(
        "--control-port",
        type=int,
        default=0,
        metavar="PORT",
        help="the control API's port on 127.0.0.1 (default: a free one)",
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


def add_dashboard(app: Any, runtime: Any, printer: Any, options: Any) -> None:
    """The Aspire dashboard's container, fed by the resource service ``options`` ask for."""
    from scenario6.run import dashboard

    image = dashboard.dashboard_image(runtime) if runtime is not None else None
    if image is None or runtime is None:
        printer.warn(dashboard.missing_image_help(runtime.name if runtime else "docker"))
        printer.info("the resource service still serves, for a dashboard started by hand")
        return
    board = dashboard.add_dashboard(app, image)
    host = "127.0.0.1" if runtime.host_network else "host.docker.internal"
    dashboard.feed_resources(
        board, options.resource_service_port, options.resource_service_key, host
    )
    printer.info(f"dashboard: {dashboard.dashboard_url()}")


def _resource_service(options: Any) -> str | None:
    """Ask ``options`` for Aspire's resource service; the error when grpcio is missing."""
    import secrets

    from scenario6.extras import missing
    from scenario6.run.dashboard import resource_service_key
    from scenario6.run.resolve import free_port

    try:
        import grpc  # noqa: F401
    except ImportError as error:
        return missing("scenario6 run --dashboard aspire", "dashboard", error.name)
    options.resource_service_port = free_port()
    options.resource_service_key = resource_service_key(secrets.token_urlsafe(32))
    return None


def _preflight(choice: Any, root: Path) -> bool:
    """The doctor's checks for this run; stop with its message rather than fail later."""
    from scenario6.doctor import run_checks

    report = run_checks(
        mode="run", backend=choice.backend, backend_placement=choice.backend_placement, root=root
    )
    # The supervisor makes and syncs the venv itself, so only the rest can block.
    blocking = [r for r in report.failures if r.name != "venv"]
    if blocking:
        print(report.render(color=sys.stderr.isatty()), file=sys.stderr)
    return not blocking


def _child_argv(args: argparse.Namespace, apphost: Path) -> list[str]:
    """The options of this ``run``, for the background run ``--detach`` starts."""
    argv = ["--backend", args.backend, "--frontend", args.frontend, "--apphost", str(apphost)]
    if args.backend_runtime:
        argv += ["--backend-runtime", args.backend_runtime]
    if args.timeout is not None:
        argv += ["--timeout", str(args.timeout)]
    if args.debug is not None:
        argv += ["--debug", str(args.debug)]
    argv += ["--control-port", str(args.control_port)]
    if args.dashboard:
        argv += ["--dashboard", args.dashboard]
    flags = {"--no-reload": args.no_reload, "--skip-checks": args.skip_checks}
    return argv + [flag for flag, given in flags.items() if given]


def _already_running(app_dir: Path, printer: Any) -> bool:
    from scenario6.run.control import state

    found = state.read(app_dir)  # a stale one (its process gone) is removed here
    if found is None:
        return False
    printer.error(
        f"a run is already going in this checkout (pid {found.pid}, control API {found.url}); "
        "see it with scenario6 ps, stop it with scenario6 stop"
    )
    return True


def run(args: argparse.Namespace) -> int:
    from scenario6.apphost import AppModelError, Configuration, Operation, load_apphost
    from scenario6.apphost.parameters import ParameterResolver
    from scenario6.run.choice import ChoiceError, choose
    from scenario6.run.printer import Printer
    from scenario6.run.starter import RunOptions
    from scenario6.run.supervisor import Supervisor
    from scenario6.run.venv import VenvUnavailable

    printer = Printer()
    apphost = args.apphost or find_apphost(Path.cwd())
    if apphost is None or not apphost.is_file():
        printer.error(f"no app model: {apphost or 'apphost.py'} not found (use --apphost FILE)")
        return 2
    app_dir = apphost.resolve().parent
    if _already_running(app_dir, printer):
        return ALREADY_RUNNING
    if args.detach:
        from scenario6.run import detach

        return detach.start(app_dir, _child_argv(args, apphost.resolve()))
    configuration = Configuration.for_app_dir(app_dir)
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
    options = RunOptions(
        reload=not args.no_reload,
        startup_timeout=args.timeout,
        debug_port=args.debug,
        control_port=args.control_port,
    )
    if args.dashboard == "aspire" and (problem := _resource_service(options)):
        printer.error(problem)
        return 2
    stack = choice.stack  # handed to the app model as chosen; only a fallback makes another
    while True:
        try:
            app = load_apphost(apphost, Operation.RUN, stack=stack)
            if args.dashboard == "aspire":
                add_dashboard(app, choice.runtime, printer, options)
            resolver = ParameterResolver(app.configuration)
            supervisor = Supervisor(
                app, runtime=choice.runtime, parameters=resolver, printer=printer, options=options
            )
            printer.info(f"backend: {stack.backend} ({stack.backend_placement}), "
                         f"frontend: {stack.frontend}")  # fmt: skip
            return asyncio.run(supervisor.run())
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
