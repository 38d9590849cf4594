from __future__ import annotations

from fastapi import APIRouter

from scenario6 import __version__

router = APIRouter()


@router.get("/health", tags=["health"])
async def health() -> dict[str, str]:
    """Liveness: answers without touching any backend."""
    return {"status": "ok", "service": "scenario6-frontend", "version": __version__}
