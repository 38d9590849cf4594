"""Opening a session on a backend: TLS verification and addressing."""

from __future__ import annotations

import ssl
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect

from scenario6 import __version__
from scenario6.facts.names import FRONTEND

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
        user_agent_header=f"{FRONTEND}/{__version__}",
        **extra,  # type: ignore[arg-type]
    )
    return connection
