"""Command-line options that the model servers share (standard library only: the loopback's
command line is read before its extra's packages are imported)."""

from __future__ import annotations

import argparse

from scenario6.facts.contract import DRAIN_TIMEOUT_S


def add_drain_timeout(parser: argparse.ArgumentParser) -> None:
    """``--drain-timeout-s``, as ``drain.Drain`` takes it."""
    parser.add_argument(
        "--drain-timeout-s",
        type=float,
        default=DRAIN_TIMEOUT_S,
        help="on SIGTERM, how long live conversations may go on (new ones get 503) before "
        f"they are closed and the server exits (default {DRAIN_TIMEOUT_S:g})",
    )
