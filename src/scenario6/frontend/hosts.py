"""The host names the frontend serves, and the check that refuses every other ``Host``.

A page on ``evil.example`` whose name an attacker points at the frontend's address (DNS
rebinding) reaches the frontend with ``Host: evil.example``: refusing names the operator did
not list stops it before any route, origin check or session runs.

>>> names = ServedNames.of(FrontendSettings(server_names="chat.example.com,localhost:8010"))
>>> names.allows("chat.example.com:8443"), names.allows("localhost:8010"), names.allows("x")
(True, True, False)
>>> ServedNames.of(FrontendSettings()).allows("[::1]:8010")
True
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from .settings import FrontendSettings

LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")
_ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]"}
_SHOWN = 60  # characters of a refused Host that the refusal repeats


def split_host(value: str) -> tuple[str, int | None]:
    """``(name, port)`` of a Host value or a SERVER_NAMES entry; an IPv6 name keeps brackets.

    >>> split_host("[::1]:8010"), split_host("::1"), split_host("Example.COM.")
    (('[::1]', 8010), ('[::1]', None), ('example.com', None))
    """
    value = value.strip().lower()
    port: str | None = None
    if value.startswith("["):
        name, _, rest = value.partition("]")
        name += "]"
        if rest.startswith(":"):
            port = rest[1:]
        elif rest:  # "[::1]evil.example": not a name, whatever is listed
            port = "-"
    elif value.count(":") > 1:  # a bare IPv6 address
        name = f"[{value}]"
    else:
        name, sep, tail = value.partition(":")
        port = tail if sep else None
    name = name.rstrip(".")
    if port is None:
        return name, None
    return name, int(port) if port.isdigit() and len(port) <= 5 else -1


@dataclass(frozen=True)
class ServedNames:
    """Names (any port) and name:port pairs the frontend answers to; ``*`` answers to all."""

    names: frozenset[str]
    pairs: frozenset[tuple[str, int]]
    everything: bool = False

    @classmethod
    def of(cls, settings: FrontendSettings) -> ServedNames:
        entries = settings.server_names or (*LOCAL_NAMES, settings.app_host)
        names: set[str] = set()
        pairs: set[tuple[str, int]] = set()
        for entry in entries:
            name, port = split_host(entry)
            if name in _ANY_ADDRESS:
                continue
            if port is None:
                names.add(name)
            else:
                pairs.add((name, port))
        return cls(frozenset(names), frozenset(pairs), "*" in settings.server_names)

    def allows(self, host: str | None) -> bool:
        if self.everything:
            return True
        if not host:
            return False
        name, port = split_host(host)
        if port == -1:
            return False
        return name in self.names or (port is not None and (name, port) in self.pairs)


class HostCheck:
    """ASGI middleware: a request or upgrade whose ``Host`` is not served gets a 400.

    ``open_paths`` (the health probe's) are exempt: probes address the frontend by whatever
    reaches it (a pod's IP, a container's name, 127.0.0.1) and learn nothing from the answer.
    """

    def __init__(
        self, app: ASGIApp, settings: FrontendSettings, open_paths: Collection[str] = ()
    ) -> None:
        self.app = app
        self.served = ServedNames.of(settings)
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        if self.served.allows(host):
            await self.app(scope, receive, send)
            return
        shown = ascii(host[:_SHOWN]) if host is not None else "(none)"
        body = f"this server does not answer to the host name {shown} (see SERVER_NAMES)\n"
        await _refuse(scope, send, body.encode())


def _header(scope: Scope, name: bytes) -> str | None:
    values = [value for key, value in scope["headers"] if key == name]
    # Two Host headers are a smuggling attempt, not a choice to make for the client.
    return values[0].decode("latin-1") if len(values) == 1 else None


async def _refuse(scope: Scope, send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        # Refused before the upgrade, with a reason a non-browser client can read.
        await send({"type": "websocket.http.response.start", "status": 400, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
