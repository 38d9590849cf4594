from __future__ import annotations

import contextlib
import logging

from fastapi import APIRouter, WebSocket

from ..deps import Pool, Settings, Tls
from ..proxy import closes
from ..proxy.request import BadRequest, origin_allowed, parse_request, wants_events
from ..proxy.session import ProxySession, refuse

router = APIRouter()
log = logging.getLogger("scenario6.frontend.chat")


@router.websocket("/api/chat")
async def chat(websocket: WebSocket, settings: Settings, pool: Pool, tls: Tls) -> None:
    """The session endpoint: upstream's path and parameters, behind validation and a queue."""
    origin = websocket.headers.get("origin")
    if not origin_allowed(origin, websocket.headers.get("host"), settings):
        log.warning("refused a session from origin %r (not this site; see ALLOWED_ORIGINS)", origin)
        # Closing before accepting makes the server answer the upgrade with HTTP 403.
        await websocket.close(code=closes.FORBIDDEN_ORIGIN)
        return
    await websocket.accept()
    try:
        request = parse_request(websocket.query_params, settings)
    except BadRequest as exc:
        log.info("refused a session: %s", exc)
        close = closes.Close(closes.BAD_REQUEST, str(exc))
        with contextlib.suppress(Exception):
            await refuse(websocket, close, wants_events(websocket.query_params))
        return
    await ProxySession(websocket, request, pool, settings, tls).run()
