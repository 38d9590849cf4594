"""Opening a session on a backend: TLS verification, addressing, and what the backend says
about itself (its kind and how many sessions it holds at once)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.http11 import Response

from scenario6 import __version__
from scenario6.protocol.messages import (
    BATCHED_KIND,
    KIND_HEADER,
    LOOPBACK_KIND,
    PERSONAPLEX_KIND,
    SLOTS_HEADER,
)

from ..settings import FrontendSettings
from .pool import Backend


def client_ssl_context(settings: FrontendSettings) -> ssl.SSLContext:
    """Verification is on unless explicitly disabled; a private CA comes from MOSHI_TLS_CA."""
    if settings.moshi_tls_insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    cafile = str(settings.moshi_tls_ca) if settings.moshi_tls_ca else None
    return ssl.create_default_context(cafile=cafile)


async def open_session(
    backend: Backend,
    query: dict[str, str],
    settings: FrontendSettings,
    tls: ssl.SSLContext | None,
) -> ClientConnection:
    """Connect to ``backend`` with the validated query. Raises OSError or websockets errors."""
    uri = f"{backend.url.url}?{urlencode(query)}"
    extra: dict[str, object] = {}
    if backend.address is not None:
        # Dial the replica's own address but keep the name for TLS and the Host header.
        extra["host"] = backend.address
        extra["port"] = backend.url.port
    if backend.url.secure:
        extra["ssl"] = tls
        extra["server_hostname"] = backend.url.host
    connection = await connect(
        uri,
        open_timeout=settings.connect_timeout_s,
        close_timeout=2,
        compression=None,  # Opus does not deflate; compressing would only cost CPU.
        max_size=max(settings.max_message_bytes, 1 << 20),
        user_agent_header=f"scenario6-frontend/{__version__}",
        **extra,  # type: ignore[arg-type]
    )
    return connection


# Kinds the proxy tells apart; any other backend (upstream sends no kind) is PersonaPlex.
_KINDS = frozenset({LOOPBACK_KIND, BATCHED_KIND})


@dataclass(frozen=True)
class Advertisement:
    """What a backend's upgrade response says about it.

    >>> from websockets.datastructures import Headers
    >>> advertisement(Response(101, "Switching Protocols", Headers({SLOTS_HEADER: "4x"})))
    Advertisement(kind='personaplex', slots=None, malformed='4x')
    """

    kind: str
    slots: int | None = None  # None: not said, or not a count (then see ``malformed``)
    malformed: str | None = None  # a slot count that is not one, as it was sent


def advertisement(response: Response | None) -> Advertisement:
    if response is None:
        return Advertisement(PERSONAPLEX_KIND)
    # A header sent twice says nothing for sure (and Headers.get would raise on it).
    kinds = response.headers.get_all(KIND_HEADER)
    kind = kinds[0] if len(kinds) == 1 and kinds[0] in _KINDS else PERSONAPLEX_KIND
    counts = response.headers.get_all(SLOTS_HEADER)
    if not counts:
        return Advertisement(kind)
    said = ", ".join(counts)
    # Plain ASCII digits only: int() would also take "+4", "4_0" or other scripts' digits.
    # Python refuses to convert thousands of digits (ValueError): not a count either.
    try:
        slots = int(said) if said.isascii() and said.isdecimal() else 0
    except ValueError:
        slots = 0
    return Advertisement(kind, slots) if slots >= 1 else Advertisement(kind, malformed=said)
