"""Opening a session on a backend: TLS verification, addressing, and dropping a backend that
breaks the WebSocket protocol."""

from __future__ import annotations

import ssl
from urllib.parse import urlencode

import websockets.exceptions
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import PayloadTooBig, ProtocolError
from websockets.frames import CloseCode

from scenario6 import __version__
from scenario6.facts.names import FRONTEND

from ..settings import FrontendSettings
from .pool import Backend

_MIB = 1 << 20


class BackendConnection(ClientConnection):
    """A backend's connection that is cut the moment the backend breaks the protocol.

    The library answers a broken frame with a close frame and then, as RFC 6455 has a client
    do, waits for the server to close the connection; a backend that does not (a busy one, or
    one whose server waits for the client instead) would keep the session, and its user, in
    limbo. Nothing it sends afterwards is read anyway, so the connection is aborted at once.
    """

    def send_data(self) -> None:
        # Runs after every read, and after recv() fails a message it cannot decode.
        super().send_data()
        if breach(self) is not None and not self.transport.is_closing():
            self.transport.abort()


def client_ssl_context(settings: FrontendSettings) -> ssl.SSLContext:
    """Verification is on unless explicitly disabled; a private CA comes from MOSHI_TLS_CA."""
    if settings.moshi_tls_insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    cafile = str(settings.moshi_tls_ca) if settings.moshi_tls_ca else None
    return ssl.create_default_context(cafile=cafile)


# websockets 17 limits a message's fragments; 16, the pin on Python 3.10, has no such limit.
_FRAGMENTS: tuple[type[Exception], ...] = tuple(
    filter(None, [getattr(websockets.exceptions, "TooManyFragments", None)])
)


# Close codes the library sends when it fails a connection for what the peer sent.
_FAILED: dict[int, str] = {
    CloseCode.PROTOCOL_ERROR: "sent a malformed frame",
    CloseCode.INVALID_DATA: "sent text that is not UTF-8",
    CloseCode.MESSAGE_TOO_BIG: "sent a message too big",
}


def protocol_error(connection: ClientConnection) -> BaseException | None:
    """What the library found the backend breaking, in its own words (for the log)."""
    # connection_exc (a text message that is not UTF-8) is new in websockets 17; 16, the pin on
    # Python 3.10, only fails the connection with 1007 (see _FAILED).
    return connection.protocol.parser_exc or getattr(connection, "connection_exc", None)


def breach(connection: ClientConnection) -> str | None:
    """What rule the backend on ``connection`` broke, in words for its user; None: none."""
    error = protocol_error(connection)
    if isinstance(error, PayloadTooBig) and error.message is None:
        size = (error.size or 0) + (error.current_size or 0)
        limit = error.max_size / _MIB
        return f"sent a {size / _MIB:.1f} MiB message (limit {limit:g} MiB)"
    if isinstance(error, _FRAGMENTS):
        return "sent a message in too many fragments"
    if isinstance(error, UnicodeDecodeError):
        return "sent text that is not UTF-8"
    if isinstance(error, ProtocolError | PayloadTooBig):
        return "sent a malformed frame"
    # Otherwise, what this side closed with when the library failed the connection. A close
    # the backend began is echoed with its own code, which says nothing about a breach.
    protocol = connection.protocol
    sent = protocol.close_sent
    if sent is None or protocol.close_rcvd_then_sent:
        return None
    return _FAILED.get(sent.code)


async def open_session(
    backend: Backend,
    query: dict[str, str],
    settings: FrontendSettings,
    tls: ssl.SSLContext | None,
) -> BackendConnection:
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
        create_connection=BackendConnection,
        open_timeout=settings.connect_timeout_s,
        close_timeout=2,
        compression=None,  # Opus does not deflate; compressing would only cost CPU.
        max_size=max(settings.max_message_bytes, 1 << 20),
        user_agent_header=f"{FRONTEND}/{__version__}",
        **extra,  # type: ignore[arg-type]
    )
    assert isinstance(connection, BackendConnection)
    return connection
