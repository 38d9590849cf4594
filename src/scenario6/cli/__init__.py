"""The ``scenario6`` command: one sub-command per module in this package."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from scenario6 import __version__

# Each module defines ``register(subparsers)``; the parser it adds sets ``handler``.
_COMMANDS = (
    "frontend", "backend", "bench", "doctor", "setup", "publish", "run", "control", "mcp",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scenario6",
        description="Run, publish and benchmark the PersonaPlex voice app.",
    )
    parser.add_argument("--version", action="version", version=f"scenario6 {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        importlib.import_module(f"scenario6.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130
