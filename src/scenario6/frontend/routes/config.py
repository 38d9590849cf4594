from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from scenario6 import __version__
from scenario6.protocol.messages import FRAME_MS, SAMPLE_RATE
from scenario6.protocol.voices import PERSONA_MAX_CHARS, PERSONAS, voice_groups

from ..deps import Pool, Settings

router = APIRouter()


@router.get("/api/config", tags=["config"])
async def config(settings: Settings, pool: Pool) -> dict[str, Any]:
    """What the browser needs to start a session. Carries no secret by construction:
    it is built only from public settings and what the proxy learned about its backends."""
    backends = pool.describe()
    kinds = {b["kind"] for b in backends}
    return {
        "service": "scenario6-frontend",
        "version": __version__,
        "session": {"path": "/api/chat", "events_param": "events"},
        "backends": backends,
        "loopback": True if "loopback" in kinds else (None if None in kinds else False),
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
    }
