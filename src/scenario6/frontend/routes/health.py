"""``GET /health`` (liveness) and ``GET /ready`` (readiness), and keeping their probes out
of the access log."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from scenario6 import __version__
from scenario6.facts.names import FRONTEND, FRONTEND_READY_PATH, SESSIONS_PATH

from ..deps import Draining, Pool

router = APIRouter()
PATH = "/health"
PROBE_PATHS = (PATH, FRONTEND_READY_PATH)
# Polled too: the run dashboard reads the session counts every second.
QUIET_PATHS = frozenset({*PROBE_PATHS, SESSIONS_PATH})


@router.get(PATH, tags=["health"])
async def health(drain: Draining) -> dict[str, str]:
    """Liveness: answers without touching any backend, draining or not."""
    status = "draining" if drain.draining else "ok"
    return {"status": status, "service": FRONTEND, "version": __version__}


@router.get(FRONTEND_READY_PATH, tags=["health"])
async def ready(drain: Draining, pool: Pool) -> JSONResponse:
    """Readiness: 503 once the frontend drains, or while the replicas' shared state (Redis)
    does not answer, so a load balancer sends no new client here."""
    if drain.draining:
        return JSONResponse({"status": "draining", "live_sessions": drain.live}, status_code=503)
    if pool.unavailable:
        return JSONResponse({"status": "unavailable", "reason": pool.unavailable}, status_code=503)
    return JSONResponse({"status": "ready"})


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
