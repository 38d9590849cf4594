"""``GET /api/sessions``: how many conversations run and wait, per backend (counts only).

For the run supervisor's dashboard on the same machine: it answers only a client on this
machine (after the trusted proxies are walked, so a request relayed from elsewhere does not
count as local), and only past the access gate, like the configuration.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from scenario6.facts.names import SESSIONS_PATH

from ..deps import AccessGate, Pool
from ..trust import client_address, is_loopback

router = APIRouter()
PATH = SESSIONS_PATH


@router.get(PATH, tags=["sessions"])
async def sessions(request: Request, pool: Pool, gate: AccessGate) -> dict[str, Any]:
    """Live and queued sessions, and each backend's slots and active sessions."""
    if not is_loopback(client_address(request)):
        raise HTTPException(403, {"message": "only answered to this machine"})
    if gate.visitor(request) is None:
        raise HTTPException(401, {"message": "not signed in"})
    backends = [
        {"url": b["url"], "kind": b["kind"], "slots": b["slots"], "active": b["active"]}
        for b in pool.describe()
    ]
    return {
        "live": sum(backend.active for backend in pool.backends),
        "queued": pool.queue_length,
        "backends": backends,
    }
