"""The sign-in cookie on responses: set at sign-in, and set again under a new ACCESS_SECRET."""

from __future__ import annotations

from fastapi import Request, Response

from ..access import Gate
from ..access.cookie import NAME
from ..settings import FrontendSettings
from ..trust import client_scheme


def set_cookie(
    response: Response, value: str, max_age: int, request: Request, settings: FrontendSettings
) -> None:
    """Set the sign-in cookie: HTTP-only, same-site, Secure whenever the browser sees https."""
    response.set_cookie(
        NAME,
        value,
        max_age=max_age,
        path="/",
        secure=over_https(request, settings),
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"


def renew_cookie(
    response: Response, request: Request, gate: Gate, settings: FrontendSettings
) -> None:
    """Set the request's cookie issued again under ACCESS_SECRET, when one of
    ACCESS_PREVIOUS_SECRETS signed it: the key changes without signing anyone out."""
    renewal = gate.renewal(request)
    if renewal is not None:
        set_cookie(response, renewal.cookie, renewal.max_age, request, settings)


def over_https(request: Request, settings: FrontendSettings) -> bool:
    """Whether the browser sees https: served so here, or at a TLS-terminating trusted proxy."""
    return client_scheme(request, settings) == "https"
