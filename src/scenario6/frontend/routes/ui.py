from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

from ..deps import AccessGate, Settings
from .cookies import renew_cookie

router = APIRouter()
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_INDEX = STATIC_DIR / "index.html"


@router.get("/", include_in_schema=False)
async def index(request: Request, gate: AccessGate, settings: Settings) -> Response:
    if gate.visitor(request) is None:
        if gate.codes:
            return RedirectResponse("/signin", status_code=303)
        return PlainTextResponse(
            "Not signed in: open this app through its sign-in proxy.", status_code=401
        )
    # no-cache: a reloaded frontend must never be shadowed by a stale page.
    page = FileResponse(_INDEX, headers={"Cache-Control": "no-cache"})
    renew_cookie(page, request, gate, settings)
    return page
