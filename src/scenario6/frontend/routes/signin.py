"""The access gate's routes: the ``/signin`` page, ``POST /api/signin`` (a code for a cookie)
and ``POST /api/signout``."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from ..access.cookie import NAME as COOKIE
from ..deps import AccessGate, Settings
from ..proxy.request import origin_allowed
from ..settings import FrontendSettings
from ..trust import client_address
from .cookies import over_https, set_cookie
from .ui import STATIC_DIR

router = APIRouter()
_PAGE = STATIC_DIR / "signin.html"
# A code is a short string: anything longer is not one, and is not read into memory.
_MAX_BODY_BYTES = 4096
log = logging.getLogger("scenario6.frontend.access")
# Redis that does not answer is reconnected to on the next request: a few seconds.
_UNAVAILABLE_RETRY_S = 5
_ERROR = {"content": {"application/json": {"example": {"detail": "what went wrong"}}}}


@router.post(
    "/api/signin",
    tags=["access"],
    responses={
        400: {"description": "no code in the request", **_ERROR},
        401: {"description": "the code is not valid", **_ERROR},
        403: {"description": "posted from another site", **_ERROR},
        404: {"description": "sign-in with a code is not enabled", **_ERROR},
        429: {"description": "too many wrong codes: see Retry-After", **_ERROR},
        503: {"description": "sign-in briefly unavailable: see Retry-After", **_ERROR},
    },
)
async def signin(request: Request, gate: AccessGate, settings: Settings) -> Response:
    """Exchange an invitation code (JSON ``{"code": ...}`` or a form field ``code``) for a
    signed, HTTP-only session cookie. Wrong codes are rate-limited per client address, per
    IPv6 /48 and over all clients together; where they cannot be counted (a shared Redis
    that does not answer), no code is checked."""
    if not gate.codes:
        return _error(404, "sign-in with a code is not enabled on this server")
    if foreign := _from_another_site(request, settings):
        return foreign
    code = await _read_code(request)
    if code is None:
        return _error(400, 'send the code as JSON {"code": "..."} or a form field "code"')
    address = client_address(request)
    outcome = await gate.sign_in(code, address)
    if outcome.unavailable:
        log.warning("sign-in refused for %s: %s", address, outcome.unavailable)
        message = f"sign-in is briefly unavailable: try again in {_UNAVAILABLE_RETRY_S} s"
        return _error(503, message, {"Retry-After": str(_UNAVAILABLE_RETRY_S)})
    wait = str(outcome.retry_after)
    if outcome.everyone:
        log.warning(
            "sign-in paused for everyone for %s s: too many wrong codes from all clients "
            "together (ACCESS_TOTAL_ATTEMPTS_PER_MINUTE); refused %s",
            wait,
            address,
        )
        message = f"too many wrong codes on this server: sign-in is paused, try again in {wait} s"
        return _error(429, message, {"Retry-After": wait})
    if outcome.retry_after:
        log.warning("sign-in refused for %s: too many wrong codes", address)
        message = f"too many wrong codes: try again in {wait} s"
        return _error(429, message, {"Retry-After": wait})
    if outcome.visitor is None or outcome.cookie is None:
        log.info("wrong sign-in code from %s", address)
        return _error(401, "that code is not valid: check it and try again")
    log.info("signed in: %s from %s", outcome.visitor.identity or "(passphrase)", address)
    response = JSONResponse({"identity": outcome.visitor.identity})
    set_cookie(response, outcome.cookie, settings.access_cookie_max_age_s, request, settings)
    return response


@router.post(
    "/api/signout",
    tags=["access"],
    status_code=204,
    response_class=Response,
    responses={403: {"description": "posted from another site", **_ERROR}},
)
async def signout(request: Request, gate: AccessGate, settings: Settings) -> Response:
    """Revoke this browser's sign-in cookie (a copy of it no longer signs anyone in) and
    forget it."""
    if foreign := _from_another_site(request, settings):
        return foreign
    gate.sign_out(request)
    response = Response(status_code=204)
    response.delete_cookie(
        COOKIE,
        path="/",
        secure=over_https(request, settings),
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/signin", include_in_schema=False)
async def signin_page(gate: AccessGate) -> Response:
    if not gate.codes:
        return RedirectResponse("/", status_code=303)
    return FileResponse(_PAGE, headers={"Cache-Control": "no-cache"})


async def _read_code(request: Request) -> str | None:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_BODY_BYTES:
            return None
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            value = json.loads(body).get("code")
        else:
            value = parse_qs(body.decode(), max_num_fields=4).get("code", [None])[0]
    except (ValueError, AttributeError, RecursionError):  # RecursionError: [[[[… nested JSON
        return None
    return value if isinstance(value, str) and value else None


def _from_another_site(request: Request, settings: FrontendSettings) -> JSONResponse | None:
    """A refusal for a post from another site's page: no signing people in or out from there."""
    if origin_allowed(request.headers.get("origin"), request.headers.get("host"), settings):
        return None
    return _error(403, "this page's origin is not allowed here")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)
