"""Loads an AppHost file (e.g. ``apphost.py``) into a validated app model."""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from pathlib import Path

from scenario6.facts.stack import Stack

from .builder import LOADING, DistributedApplication, LoadRequest
from .context import Operation
from .errors import AppModelError


def load_apphost(
    path: str | Path,
    operation: Operation = Operation.RUN,
    overrides: Mapping[str, str] | None = None,
    stack: Stack | None = None,
) -> DistributedApplication:
    """Execute the AppHost file; its ``build().run()`` hands the model back instead of running.

    ``overrides`` win over the environment and `.env` in ``builder.configuration``; ``stack``
    is the command's choice of backend and frontend (``builder.stack``).
    """
    apphost = Path(path).resolve()
    if not apphost.is_file():
        raise AppModelError(f"{apphost} does not exist", field="apphost")
    request = LoadRequest(operation, apphost.parent, apphost, dict(overrides or {}), stack)
    token = LOADING.set(request)
    try:
        runpy.run_path(str(apphost), run_name="__apphost__")
    finally:
        LOADING.reset(token)
    if request.captured is None:
        raise AppModelError(f"{apphost.name} never called builder.build().run()", field="apphost")
    return request.captured
