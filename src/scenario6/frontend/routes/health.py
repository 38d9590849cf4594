"""``GET /health``, and keeping its probes out of the access log."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from scenario6 import __version__
from scenario6.facts.names import FRONTEND, SESSIONS_PATH

router = APIRouter()
PATH = "/health"
# Polled too: the run dashboard reads the session counts every second.
QUIET_PATHS = frozenset({PATH, SESSIONS_PATH})


@router.get(PATH, tags=["health"])
async def health() -> dict[str, str]:
    """Liveness: answers without touching any backend."""
    return {"status": "ok", "service": FRONTEND, "version": __version__}


class QuietProbes(logging.Filter):
    """Drops uvicorn's access-log lines for answered health probes and session-count polls.

    ``scenario6 run``, Docker's HEALTHCHECK and Kubernetes probe every few seconds; logged,
    they bury the lines that matter. A probe that fails is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access records carry (client, method, path, http version, status) as args.
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and args[2] in QUIET_PATHS:
            return not (isinstance(args[4], int) and args[4] < 400)
        return True


def quiet_probes() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QuietProbes) for f in access.filters):
        access.addFilter(QuietProbes())
