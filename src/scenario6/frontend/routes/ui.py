from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter()
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_INDEX = STATIC_DIR / "index.html"


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    # no-cache: a reloaded frontend must never be shadowed by a stale page.
    return FileResponse(_INDEX, headers={"Cache-Control": "no-cache"})
