"""``scenario6 backend loopback``: the GPU-free stand-in for the model server."""

from __future__ import annotations

from typing import Any

from scenario6.backend import loopback_main


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("backend", help="run a backend server")
    kinds = parser.add_subparsers(dest="backend_kind", metavar="KIND", required=True)
    loopback = kinds.add_parser(
        "loopback",
        help="the loopback backend: PersonaPlex's protocol, echoing your audio (no GPU, no model)",
    )
    loopback_main.add_arguments(loopback)
    loopback.set_defaults(handler=loopback_main.serve)
