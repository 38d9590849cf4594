"""Run a module or script under debugpy, listening for an IDE to attach.

``python -m scenario6.debug --listen 5678 -m scenario6 frontend --port 8010`` serves the
frontend as usual while VS Code's "Attach to the frontend (debugpy on 5678)" can connect.
Compared with ``python -m debugpy``: it listens on 127.0.0.1 unless told otherwise, accepts
port 0 (a free port), prints the port it got on one line tools can parse, and explains a
missing debugpy instead of failing with an import error.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from collections.abc import Sequence

READY = "debugpy listening on {host}:{port}"
DEFAULT_PORT = 5678


def parse_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port: {port!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {number}")
    return host or "127.0.0.1", number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scenario6.debug",
        description="Run a module or script under debugpy, listening for a debugger to attach.",
    )
    parser.add_argument(
        "--listen",
        type=parse_address,
        default=("127.0.0.1", DEFAULT_PORT),
        metavar="[HOST:]PORT",
        help=f"where debugpy listens (default 127.0.0.1:{DEFAULT_PORT}; port 0 picks one)",
    )
    parser.add_argument(
        "--wait-for-client",
        action="store_true",
        help="start the program only once a debugger has attached",
    )
    parser.usage = (
        "%(prog)s [--listen [HOST:]PORT] [--wait-for-client] (-m MODULE | SCRIPT) [ARGS...]"
    )
    return parser


def split_target(argv: Sequence[str]) -> tuple[list[str], str | None, str | None, list[str]]:
    """(our options, module, script, the program's arguments): everything after the target
    belongs to the program, as with ``python -m``."""
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg == "-m" and i + 1 < len(argv):
            return argv[:i], argv[i + 1], None, argv[i + 2 :]
        if not arg.startswith("-") and (i == 0 or argv[i - 1] != "--listen"):
            return argv[:i], None, arg, argv[i + 1 :]
    return argv, None, None, []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ours, module, script, program_args = split_target(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(ours)
    if module is None and script is None:
        parser.error("name what to run: -m MODULE or SCRIPT")
    # Breakpoints go in the project's code, not in the frozen standard-library modules this
    # check warns about on every start.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    try:
        import debugpy
    except ImportError:
        print(
            "debugpy is not installed in this environment; it comes with the dev extra: "
            "pip install -c requirements.lock -e '.[dev]' (or python3 setup_scenario6.py)",
            file=sys.stderr,
        )
        return 2
    host, port = debugpy.listen(args.listen)
    print(READY.format(host=host, port=port), file=sys.stderr, flush=True)
    if args.wait_for_client:
        print("waiting for a debugger to attach…", file=sys.stderr, flush=True)
        debugpy.wait_for_client()
    if module is not None:
        sys.argv = [module, *program_args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    elif script is not None:
        sys.argv = [script, *program_args]
        runpy.run_path(script, run_name="__main__")
    return 0
