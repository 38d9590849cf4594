"""``scenario6 doctor``: checks this machine for run or publish mode, with a fix for each gap."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from scenario6.facts.kinds import BACKENDS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check Python, .venv, the container engine, GPU, token and ports",
        description="Check that this machine can run (or publish) the app; each problem comes "
        "with a one-line fix. Exits 1 when something the chosen mode needs is missing.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--mode", choices=["run", "publish"], default="run")
    parser.add_argument(
        "--backend",
        default="auto",
        help=f"auto, {', '.join(BACKENDS)}, or an external backend's URL (default: auto)",
    )
    parser.add_argument(
        "--backend-runtime",
        choices=["container", "native"],
        help="where a loopback backend would run (default: a container when an engine answers)",
    )
    parser.set_defaults(handler=doctor)


def doctor(args: argparse.Namespace) -> int:
    from scenario6.doctor import run_checks

    try:
        report = run_checks(
            mode=args.mode, backend=args.backend, backend_placement=args.backend_runtime
        )
    except FileNotFoundError as exc:  # not run from (or installed from) a checkout
        print(f"scenario6 doctor: {exc}; run it inside the repository", file=sys.stderr)
        return 2
    if args.json:
        print(report.dumps())
    else:
        print(report.render(color=sys.stdout.isatty()))
    return report.exit_code
