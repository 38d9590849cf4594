"""The repository's apphost.py loaded as ``scenario6 run`` and ``publish`` load it: with the
stack (the backend, where it runs, where the frontend runs) passed to its loader."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from scenario6.apphost import DistributedApplication, Operation, load_apphost
from scenario6.facts.kinds import BACKENDS
from scenario6.facts.stack import BackendPlacement, FrontendPlacement, Stack

APPHOST = Path(__file__).resolve().parents[2] / "apphost.py"


def load_app(
    operation: Operation = Operation.RUN,
    backend: str = "loopback",
    overrides: Mapping[str, str] | None = None,
    *,
    backend_placement: BackendPlacement | None = None,
    frontend: FrontendPlacement | None = None,
    path: Path = APPHOST,
) -> DistributedApplication:
    """The app model for ``backend`` (a kind in its container by default, or a URL), with the
    frontend native in run mode and in its image when publishing, unless told otherwise."""
    stack = Stack(
        backend,
        backend_placement or ("container" if backend in BACKENDS else "external"),
        frontend or ("docker" if operation is Operation.PUBLISH else "python"),
    )
    return load_apphost(path, operation, overrides, stack=stack)
