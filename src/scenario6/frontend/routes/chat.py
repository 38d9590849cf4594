from __future__ import annotations

import contextlib
import logging

from fastapi import APIRouter, WebSocket

from scenario6.protocol.messages import CHAT_PATH

from ..deps import AccessGate, Draining, Pool, Settings, Tls
from ..proxy import closes
from ..proxy.downstream import refuse
from ..proxy.drain import TURNED_AWAY, refusal
from ..proxy.request import BadRequest, origin_allowed, parse_request, wants_events
from ..proxy.session import ProxySession

router = APIRouter()
FOREIGN_ORIGIN = closes.Close(
    closes.FORBIDDEN_ORIGIN, "this page's origin is not allowed here (see ALLOWED_ORIGINS)"
)
NOT_SIGNED_IN = closes.Close(closes.NOT_SIGNED_IN, "not signed in: reload the page to sign in")
log = logging.getLogger("scenario6.frontend.chat")
# The ASGI extension that lets an app answer an upgrade with a plain HTTP response.
DENIAL = "websocket.http.response"


@router.websocket(CHAT_PATH)
async def chat(
    websocket: WebSocket,
    settings: Settings,
    pool: Pool,
    tls: Tls,
    gate: AccessGate,
    drain: Draining,
) -> None:
    """The session endpoint: upstream's path and parameters, behind validation and a queue."""
    if drain.draining and DENIAL in websocket.scope.get("extensions", {}):
        log.info("refused a session: draining")
        # Refused before the upgrade: a load balancer may send this request to another
        # replica, which it cannot do once the upgrade is accepted.
        await websocket.send_denial_response(refusal())
        return
    origin = websocket.headers.get("origin")
    events = wants_events(websocket.query_params)
    if not origin_allowed(origin, websocket.headers.get("host"), settings):
        log.warning("refused a session from origin %r (not this site; see ALLOWED_ORIGINS)", origin)
        # Accepted only to be closed with a reason a browser can show (a refused upgrade
        # reaches it as a bare 1006); nothing reaches a backend.
        await websocket.accept()
        with contextlib.suppress(Exception):
            await refuse(websocket, FOREIGN_ORIGIN, events)
        return
    await websocket.accept()
    visitor = gate.visitor(websocket)
    if visitor is None:
        log.info("refused a session: not signed in")
        with contextlib.suppress(Exception):
            await refuse(websocket, NOT_SIGNED_IN, events)
        return
    try:
        request = parse_request(websocket.query_params, settings)
    except BadRequest as exc:
        log.info("refused a session: %s", exc)
        close = closes.Close(closes.BAD_REQUEST, str(exc))
        with contextlib.suppress(Exception):
            await refuse(websocket, close, events)
        return
    if drain.draining:
        log.info("refused a session: draining")
        with contextlib.suppress(Exception):
            await refuse(websocket, TURNED_AWAY, events)
        return
    limit_key = visitor.limit_key(websocket)
    with drain.session():
        await ProxySession(websocket, request, pool, settings, tls, limit_key, drain).run()
