"""Whose word the frontend takes for a client's address and scheme: only its reverse proxies'.

A direct peer is the client, unless it is one of TRUSTED_PROXIES: then the one header those
proxies set (FORWARDED_HEADER) names the client. Anyone else's forwarded headers, and every
other forwarded header even from a proxy, are ignored: a proxy passes on what a client sent
in the headers it does not set itself, so a client could otherwise pick its own address.
The scheme the client used follows the same rule, from the same header family.

>>> from scenario6.frontend.settings import FrontendSettings
>>> settings = FrontendSettings(trusted_proxies="10.0.0.0/8")
>>> is_trusted_proxy("10.1.2.3", settings), is_trusted_proxy("192.0.2.7", settings)
(True, False)
>>> forwarded_chain("for=192.0.2.60;proto=https, for=\\"[2001:db8::1]:4711\\"")
['192.0.2.60', '2001:db8::1']
>>> [_strip_port(hop) for hop in ("203.0.113.5:4444", "[2001:db8::1]", "2001:db8::2")]
['203.0.113.5', '2001:db8::1', '2001:db8::2']
"""

from __future__ import annotations

import functools
import ipaddress

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from .hosts import split_host
from .settings import FrontendSettings

# Where RealClient keeps the direct peer once ``scope["client"]`` names the real client.
_PEER = "scenario6.peer"
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _address(text: str) -> _Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted_proxy(peer_ip: str, settings: FrontendSettings) -> bool:
    """Whether ``peer_ip`` is one of TRUSTED_PROXIES (never true for a name or garbage)."""
    address = _address(peer_ip)
    if address is None:
        return False
    return any(address in network for network in _networks(settings.trusted_proxies))


def is_loopback(ip: str) -> bool:
    """Whether ``ip`` is this machine's (127.0.0.0/8, ::1; never a name or garbage)."""
    address = _address(ip)
    return address is not None and address.is_loopback


def peer_address(connection: HTTPConnection) -> str:
    """The address the connection really comes from (a proxy's, behind one)."""
    peer = connection.scope.get(_PEER)
    if isinstance(peer, str):
        return peer
    return connection.client.host if connection.client else ""


def client_address(connection: HTTPConnection) -> str:
    """The real client: the peer, or the address the trusted proxies in front of it name.

    ``RealClient`` works it out once per connection (``scope["client"]``); everything that
    asks who the client is reads it here.
    """
    return connection.client.host if connection.client else ""


def _named_client(connection: HTTPConnection, settings: FrontendSettings) -> str:
    """The client the trusted proxies in front of the peer name, else the peer.

    Only FORWARDED_HEADER is read, and its chain from the right (the hop nearest to us): each
    trusted proxy vouches for the hop before it, and the first address that is not a trusted
    proxy is the client. Entries further left were written by that client and are not
    believed. A trusted proxy sending no such header (or nothing readable) is its own client.
    """
    peer = peer_address(connection)
    if not is_trusted_proxy(peer, settings):
        return peer
    chain = _chain(connection, settings.forwarded_header)
    return _walk(chain, peer, settings)[0]


def client_scheme(connection: HTTPConnection, settings: FrontendSettings) -> str:
    """``"https"`` or ``"http"``: what the client used, as far as the frontend can believe.

    The request's own scheme, unless the peer is a trusted proxy: then the proto of the header
    family FORWARDED_HEADER names: ``proto=`` of the ``Forwarded`` element that names the
    client, or, beside X-Forwarded-For and X-Real-IP, the nearest X-Forwarded-Proto value.
    """
    own = "https" if connection.url.scheme in ("https", "wss") else "http"
    peer = peer_address(connection)
    if not is_trusted_proxy(peer, settings):
        return own
    if settings.forwarded_header == "forwarded":
        elements = _forwarded_elements(",".join(connection.headers.getlist("forwarded")))
        index = _walk([_node(element) for element in elements], peer, settings)[1]
        proto = "" if index is None else _parameter(elements[index], "proto")
    else:
        values = ",".join(connection.headers.getlist("x-forwarded-proto")).split(",")
        proto = values[-1]
    proto = proto.strip().strip('"').lower()
    return proto if proto in ("http", "https") else own


def _walk(chain: list[str], peer: str, settings: FrontendSettings) -> tuple[str, int | None]:
    """The client a chain of hops names, and its place in the chain (None: the peer)."""
    client, index = peer, None
    for place in range(len(chain) - 1, -1, -1):
        address = _address(chain[place])
        if address is None:
            break  # "unknown", an obfuscated name, garbage: no further hop is vouched for
        client, index = str(address), place
        if not is_trusted_proxy(client, settings):
            break
    return client, index


def _chain(connection: HTTPConnection, header: str) -> list[str]:
    """The addresses in every ``header`` field of the request, nearest hop last."""
    value = ",".join(connection.headers.getlist(header))
    if header == "forwarded":
        return forwarded_chain(value)
    return [_strip_port(hop.strip()) for hop in value.split(",")]


def forwarded_chain(header: str) -> list[str]:
    """The ``for=`` addresses of an RFC 7239 ``Forwarded`` header, nearest hop last."""
    return [_node(element) for element in _forwarded_elements(header)]


def _forwarded_elements(header: str) -> list[str]:
    return [element for element in header.split(",") if element.strip()]


def _node(element: str) -> str:
    return _strip_port(_parameter(element, "for").strip('"'))


def _parameter(element: str, wanted: str) -> str:
    """One parameter's value in a ``Forwarded`` element (``""`` when it has none)."""
    for pair in element.split(";"):
        name, _, value = pair.partition("=")
        if name.strip().lower() == wanted:
            return value.strip()
    return ""


def _strip_port(node: str) -> str:
    """The address in a forwarded node: "192.0.2.60:4711", "[2001:db8::1]:4711", a bare one."""
    return split_host(node)[0].strip("[]")


class RealClient:
    """ASGI middleware: behind a trusted proxy, ``scope["client"]`` becomes the real client.

    Everything that reads the client address then sees the person's, not the proxy's: the
    access log, telemetry, and ``client_address``, which the per-client limits count by. The
    direct peer stays available to ``peer_address`` (``is_trusted_proxy(peer_address(c), ...)``
    still holds).
    """

    def __init__(self, app: ASGIApp, settings: FrontendSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.settings.trusted_proxies:
            connection = HTTPConnection(scope)
            peer = peer_address(connection)
            client = _named_client(connection, self.settings)
            scope[_PEER] = peer
            if client != peer:
                # The port is the proxy's, meaningless for the client: 0, as unknown.
                scope["client"] = (client, 0)
        await self.app(scope, receive, send)
