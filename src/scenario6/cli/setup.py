"""``scenario6 setup``: the same as ``python setup_scenario6.py``."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    from scenario6.setup.command import add_arguments, run

    parser = subparsers.add_parser(
        "setup",
        help="create .venv, install the pinned dependencies, create .env, then run the doctor",
        description="Set up this checkout (idempotent): .venv with the pinned dependencies, "
        ".env from .env.example, an optional Hugging Face token; then `scenario6 doctor`.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)
