"""``scenario6 bench [NAME] [--json]``: benchmarks that print measured figures."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from typing import Any

import scenario6.bench

# Modules of scenario6.bench that support the benchmarks rather than being one.
_SUPPORT = {"harness"}


def available() -> list[str]:
    modules = pkgutil.iter_modules(scenario6.bench.__path__)
    return sorted(m.name for m in modules if m.name not in _SUPPORT)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run benchmarks and print their figures",
        description="Benchmarks: " + ", ".join(available()) + ". Without NAME, all of them.",
    )
    parser.add_argument("name", nargs="?", choices=available(), help="one benchmark")
    parser.add_argument("--json", action="store_true", help="print one JSON object per benchmark")
    parser.add_argument(
        "--seconds", type=float, help="measuring time per step where a benchmark has steps"
    )
    parser.add_argument(
        "--proxy-sessions",
        help="comma-separated session counts for the proxy benchmark (default 1,50,...,500)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    status = 0
    for name in [args.name] if args.name else available():
        module = importlib.import_module(f"scenario6.bench.{name}")
        status = max(status, int(module.run(args) or 0))
    return status
