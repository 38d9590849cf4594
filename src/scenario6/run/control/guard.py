"""Who may use the control API: local callers that show the run's token.

Browsers are kept out unless they come from the API's own origin (no other page may drive
it) and name it by a loopback Host (no DNS name rebound to 127.0.0.1 either).
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from pathlib import Path

from starlette.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "scenario6_run"
PUBLIC = frozenset({"/login"})  # reachable without the token (it brings the token)


def same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


class Guard:
    """ASGI middleware: checks Host and Origin, then a bearer token or the session cookie.

    A browser asking for a page without either gets ``login_page`` (still a 401), which
    asks for the token rather than showing an error.
    """

    def __init__(
        self, app: ASGIApp, *, port: int, token: str, login_page: Path | None = None
    ) -> None:
        self.app = app
        self.token = token
        self.login_page = login_page
        self.hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self.refusal(scope["path"], headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # Closed before it is accepted: the server answers the upgrade with 403.
            await send({"type": "websocket.close", "code": 1008, "reason": refusal[1]})
            return
        status, message = refusal
        if status == 401 and self.login_page is not None and _wants_page(scope, headers):
            page = self.login_page.read_text(encoding="utf-8")
            await HTMLResponse(page, status_code=401)(scope, receive, send)
            return
        await JSONResponse({"error": message}, status_code=status)(scope, receive, send)

    def refusal(self, path: str, headers: dict[str, str]) -> tuple[int, str] | None:
        if headers.get("host", "") not in self.hosts:
            return 403, "unknown host: use 127.0.0.1 or localhost with this port"
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            return 403, "requests from other origins are refused"
        if path in PUBLIC:
            return None
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given:
            return None if same(given.strip(), self.token) else (401, "wrong token")
        cookie = SimpleCookie(headers.get("cookie", "")).get(COOKIE)
        if cookie is not None and same(cookie.value, self.token):
            return None
        return 401, "this API needs the run's token (see scenario6 ps)"


def _wants_page(scope: Scope, headers: dict[str, str]) -> bool:
    path = str(scope["path"])
    reading = scope["method"] == "GET" and not path.startswith("/api/")
    return reading and "text/html" in headers.get("accept", "")
