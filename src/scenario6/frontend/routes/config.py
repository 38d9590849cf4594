from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from scenario6 import __version__
from scenario6.facts.names import FRONTEND
from scenario6.protocol.messages import CHAT_PATH, FRAME_MS, LOOPBACK_KIND, SAMPLE_RATE, Kind
from scenario6.protocol.voices import PERSONA_MAX_CHARS, PERSONAS, voice_groups

from ..deps import AccessGate, Pool, Settings
from ..proxy import closes
from ..proxy.request import EVENTS_PARAM
from .cookies import renew_cookie

router = APIRouter()


@router.get("/api/config", tags=["config"])
async def config(
    request: Request, response: Response, settings: Settings, pool: Pool, gate: AccessGate
) -> dict[str, Any]:
    """What the browser needs to start a session. Carries no secret by construction:
    it is built only from public settings and what the proxy learned about its backends.
    Behind the access gate: 401 until signed in (the web client then shows /signin)."""
    visitor = gate.visitor(request)
    if visitor is None:
        signin = "/signin" if gate.codes else None
        raise HTTPException(401, {"message": "not signed in", "signin": signin})
    renew_cookie(response, request, gate, settings)
    backends = pool.describe()
    kinds = {b["kind"] for b in backends}
    return {
        "service": FRONTEND,
        "version": __version__,
        "session": {"path": CHAT_PATH, "events_param": EVENTS_PARAM},
        "backends": backends,
        "loopback": True if LOOPBACK_KIND in kinds else (None if None in kinds else False),
        "voices": {"default": settings.default_voice, "groups": voice_groups()},
        "personas": {
            "default": settings.default_persona,
            "presets": [{"id": p.id, "label": p.label, "prompt": p.prompt} for p in PERSONAS],
        },
        "limits": {
            "persona_max_chars": PERSONA_MAX_CHARS,
            "max_message_bytes": settings.max_message_bytes,
        },
        "audio": {"sample_rate": SAMPLE_RATE, "frame_ms": FRAME_MS},
        # The web client takes the protocol's numbers from here rather than repeating them.
        "protocol": {
            "kinds": {kind.name: kind.value for kind in Kind},
            "closes": closes.codes(),
        },
        "access": {
            "gate": gate.enabled,
            "identity": visitor.identity,
            "signout": visitor.via == "code",
        },
    }
