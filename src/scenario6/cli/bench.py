"""``scenario6 bench [NAME] [--json]``: benchmarks that print measured figures.

Without NAME every benchmark runs and one report is written (``scenario6.bench.suite``).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Any

import scenario6.bench
from scenario6.extras import from_extra, missing

# Modules of scenario6.bench that support the benchmarks rather than being one.
_SUPPORT = {
    "harness", "machine", "figures", "tables", "panels", "catalog", "plan", "report", "chart",
    "suite", "probe", "target", "caller", "speech", "stack", "redis_server",
}  # fmt: skip


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return number


def available() -> list[str]:
    modules = pkgutil.iter_modules(scenario6.bench.__path__)
    return sorted(m.name for m in modules if m.name not in _SUPPORT)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run benchmarks and print their figures",
        description="Benchmarks: " + ", ".join(available()) + ". Without NAME, all of them, "
        "and a report (PERFORMANCE.md with a chart, performance.png).",
    )
    parser.add_argument("name", nargs="?", choices=available(), help="one benchmark")
    parser.add_argument(
        "urls",
        nargs="*",
        metavar="URL",
        help="load: the server to load; several replicas take the callers in turn",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON object (without NAME: every result in one object)",
    )
    parser.add_argument(
        "--seconds", type=float, help="measuring time per step of the one benchmark NAME"
    )
    parser.add_argument(
        "--proxy-sessions",
        help="comma-separated session counts for the proxy benchmark (default 1,50,...,500)",
    )
    model = parser.add_argument_group(
        "the model and batch benchmarks (PersonaPlex with random weights)"
    )
    model.add_argument(
        "--python",
        metavar="PY",
        help="an interpreter with torch and PersonaPlex's moshi (default: the test-support "
        "venv that `python -m tests.support.personaplex` makes)",
    )
    model.add_argument(
        "--full-size",
        action="store_true",
        help="upstream's 7B architecture with random weights (meant for a CUDA GPU)",
    )
    model.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda if present")
    model.add_argument(
        "--frames", type=_positive, help="frames to time (model: default 100; batch: 50 per level)"
    )
    model.add_argument(
        "--levels",
        metavar="N,N,...",
        help="batch: live conversations to time the tick at (default 1,2,4,8,16,32)",
    )
    model.add_argument(
        "--probe-output",
        metavar="FILE",
        help="summarise what the benchmark's probe (`python -m scenario6.backend.modelprobe` "
        "or `.batchprobe`) printed elsewhere (for example in the backend image on a GPU host) "
        "instead of measuring here",
    )
    load = parser.add_argument_group("the load benchmark (`scenario6 bench load URL [URL ...]`)")
    load.add_argument("--sessions", type=_positive, default=8, help="callers (default 8)")
    load.add_argument(
        "--ramp-s", type=float, default=2.0, help="seconds over which they start (default 2)"
    )
    load.add_argument(
        "--duration-s",
        type=float,
        default=20.0,
        help="seconds each talks after its handshake (default 20)",
    )
    load.add_argument("--audio", metavar="WAV", help="what they say (default: made-up speech)")
    load.add_argument(
        "--code",
        help="sign-in code when the server's gate is on (default: $ACCESS_CODE)",
    )
    load.add_argument(
        "--allow-remote",
        action="store_true",
        help="load a server that is not on this machine's loopback addresses",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        help="where the report goes, without NAME (default: the checkout's docs/, else here); "
        "with NAME, the report whose section NAME is measured anew",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the report's short runs and few samples, a few minutes in all (a smoke test); "
        "with NAME, only with --output",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.urls and args.name != "load":
        print("scenario6 bench: only the load benchmark takes a URL")
        return 2
    if args.urls and args.output:
        print("scenario6 bench: --output takes what runs here; a load test of URLs only prints")
        return 2
    if args.name is not None and args.quick and not args.output:
        print("scenario6 bench: --quick with NAME needs --output DIR, a report to put it in")
        return 2
    try:
        # A benchmark imports what it measures with when it starts (numpy, playwright, the
        # loopback backend): all of it comes with the bench extra.
        if args.name is None or args.output:
            from scenario6.bench import suite

            return suite.run(args) if args.name is None else suite.refresh(args)
        module = importlib.import_module(f"scenario6.bench.{args.name}")
        return int(module.run(args) or 0)
    except ImportError as exc:
        if not from_extra(exc):
            raise
        print(missing("scenario6 bench", "bench", exc.name), file=sys.stderr)
        return 2
