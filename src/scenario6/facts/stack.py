"""Which backend and frontend the app model describes, and where each runs: chosen once.

``scenario6 run`` chooses from what this machine has (:mod:`scenario6.run.choice`),
``scenario6 publish`` from its options; each passes its :class:`Stack` to the app model's
loader (:func:`scenario6.apphost.load_apphost`), and ``apphost.py`` reads it from its builder
instead of reading settings back and deciding again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .kinds import BACKENDS, MODEL_BACKENDS, PERSONAPLEX

# Where each runs. Users say --backend-runtime (SCENARIO6_BACKEND_RUNTIME); in code "runtime"
# is the container runtime (Docker or Podman) only.
BackendPlacement = Literal["container", "native", "external"]
FrontendPlacement = Literal["python", "docker"]


@dataclass(frozen=True)
class Stack:
    """What runs: a backend kind in its container (or the loopback natively), or a backend
    that runs elsewhere at a URL; the frontend natively from ``.venv`` or in its image.

    >>> Stack("wss://gpu-box:8998", "external").kind is None
    True
    """

    backend: str = PERSONAPLEX  # a backend kind, or the URL of a backend that runs elsewhere
    backend_placement: BackendPlacement = "container"
    frontend: FrontendPlacement = "python"

    def __post_init__(self) -> None:
        if (self.backend_placement == "external") == (self.backend in BACKENDS):
            raise ValueError(
                f"backend {self.backend!r} cannot run as {self.backend_placement!r}: a backend "
                "kind runs as a container or natively, a URL is external"
            )
        if self.backend_placement == "native" and self.backend in MODEL_BACKENDS:
            raise ValueError(f"backend {self.backend!r} runs only in its container image")

    @property
    def kind(self) -> str | None:
        """The backend kind this stack starts; None for a backend that runs elsewhere."""
        return None if self.backend_placement == "external" else self.backend


def chosen(stack: Stack | None, publishing: bool) -> Stack:
    """``stack``, checked against the mode. Loaded without one (by a test, or an editor running
    the file), the app model describes PersonaPlex in its container, with the frontend native
    in run mode and in its image when publishing."""
    if stack is None:
        return Stack(frontend="docker" if publishing else "python")
    if publishing and stack.frontend != "docker":
        raise ValueError(
            "a published frontend runs in its image: hand a stack with frontend docker"
        )
    return stack
