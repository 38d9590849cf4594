"""How the frontend is served: uvicorn's protocols with request limits that answer.

Every launcher (``scenario6 frontend``, the frontend image, the fast reloader, plain
``python -m uvicorn`` in run mode) names the two protocol classes (``HttpProtocol`` below,
``WebSocketProtocol`` in ``websocket_serving``), so the same limits, timeouts and close
behaviour hold however the frontend is started:

- a request line, a header field or the whole head over its limit, or too many header
  fields, is answered (414, 431) with a short plain-text reason and ``Connection: close``,
  for plain requests and WebSocket upgrades alike, before the head is buffered any further;
- a request with ``Transfer-Encoding`` (a chunked body, whose trailers httptools would buffer
  without limit) is refused with 411, and one whose ``Content-Length`` is over
  ``MAX_BODY_BYTES`` with 413, before any of the body is read: no endpoint takes more;
- a head not complete within ``HEADER_TIMEOUT_S`` (from the connection's start, or from the
  end of the previous request) is closed, with 408 if part of it arrived, and a body not
  complete within the same time after its head is answered 408 and closed;
- an idle keep-alive connection is closed after ``KEEP_ALIVE_TIMEOUT_S``;
- pipelined requests are read one at a time: the next request's head is parsed only once the
  response before it is complete, and reading stops meanwhile, so a connection holds one
  request and at most one read's worth of unparsed bytes however many requests it sends in
  one write; every byte of every head counts against the head limit, a partial head that
  arrives with the end of the request before it included;
- a client that leaves its answers unread is cut off once they fill the network's buffers
  and the server's write buffer and an answer has waited there ``SEND_TIMEOUT_S``; a closing
  connection (a refusal, a timeout, ``Connection: close``) whose last answer is not taken
  within ``SEND_TIMEOUT_S`` is cut off too;
- a client's empty close frame (a browser's ``ws.close()``) is answered with 1000, as
  PersonaPlex's own server answers it.

uvicorn's parser (httptools) has no size limits, and the WebSocket layer parses an upgrade
again with websockets' own limits (8 KiB lines): when those refuse it, uvicorn never sends
the refusal, and the connection hangs. So the limits live in the HTTP layer, which sees
every request first, and websockets' are raised to match (``websocket_serving``). Written
against uvicorn 0.54, websockets 17.4 and httptools 0.9 (pinned); tests/hostile/
test_server_*.py check them.

uvicorn's own proxy-header handling is off (``UVICORN_OPTIONS``): the app decides whose
forwarded headers to believe (see ``trust``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from scenario6.protocol.limits import MAX_HEADER_FIELD_BYTES, MAX_REQUEST_LINE_BYTES

from .deadline import Deadline
from .reset import reset
from .settings import LIFESPAN_KEY, FrontendSettings
from .unparsed import Unparsed

MAX_HEAD_BYTES = 64 * 1024  # request line and every header field together
MAX_HEADER_FIELDS = 100
# After a refusal, what the client is still sending is read and dropped for this long, so
# that closing does not reset the connection before the client has read the answer.
LINGER_S = 2.0
# The largest request body read: the sign-in form posts under 4 KiB, nothing else takes one.
MAX_BODY_BYTES = 16 * 1024
# Names, not objects: the fast reloader's children and `python -m uvicorn` import them.
HTTP_PROTOCOL = "scenario6.frontend.serving:HttpProtocol"
WS_PROTOCOL = "scenario6.frontend.websocket_serving:WebSocketProtocol"
UVICORN_OPTIONS: dict[str, Any] = {"http": HTTP_PROTOCOL, "ws": WS_PROTOCOL, "proxy_headers": False}
UVICORN_ARGS = ("--http", HTTP_PROTOCOL, "--ws", WS_PROTOCOL, "--no-proxy-headers")


@dataclass(frozen=True)
class Timeouts:
    header_s: float
    keep_alive_s: float
    send_s: float


def timeouts(app_state: Mapping[str, Any]) -> Timeouts:
    """HEADER_TIMEOUT_S, KEEP_ALIVE_TIMEOUT_S and SEND_TIMEOUT_S of the settings the app
    handed over at start-up (``app_state``: its lifespan state)."""
    settings = app_state.get(LIFESPAN_KEY)
    if not isinstance(settings, FrontendSettings):
        settings = _from_environment()
    return Timeouts(
        settings.header_timeout_s, settings.keep_alive_timeout_s, settings.send_timeout_s
    )


@functools.cache
def _from_environment() -> FrontendSettings:
    # Only with the lifespan off (uvicorn --lifespan off), when the app hands nothing over.
    return FrontendSettings()


class _Refused(Exception):
    """Raised from a parser callback: stops httptools at once."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _Flow(FlowControl):
    """uvicorn's flow control, except that reading stays paused while read requests wait."""

    def __init__(self, transport: asyncio.Transport, waiting: Callable[[], bool]) -> None:
        super().__init__(transport)
        self._waiting = waiting

    def resume_reading(self) -> None:
        if not self._waiting():
            super().resume_reading()


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on the request head and a time to send it,
    one request at a time, and a time for the client to take its answers."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = timeouts(app_state)
        self.timeout_keep_alive = limits.keep_alive_s  # type: ignore[assignment]
        self._head_deadline = Deadline(self.loop, limits.header_s, self._head_timed_out)
        self._body_deadline = Deadline(self.loop, limits.header_s, self._body_timed_out)
        # Answers left unread: the client is cut off (a reset: close would wait for them).
        self._send_deadline = Deadline(self.loop, limits.send_s, self._cut_off)
        self._unparsed = Unparsed()
        self._in_message = False  # from a request's first byte to its body's last
        self._in_head = True  # between the end of one request and its successor's headers
        self._received = 0  # bytes fed to the parser while in the head
        self._body_left = 0  # of the request in progress, as its Content-Length states
        self._head_size = 0
        self._fields = 0
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.flow = _Flow(transport, waiting=lambda: bool(self._unparsed))
        self._arm_head_timer()  # a connection that never sends a byte is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_deadline.cancel()
        self._body_deadline.cancel()
        self._send_deadline.cancel()
        self._unparsed.clear()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering after a refusal: dropped
        if self._in_head:
            self._arm_head_timer()
        self._unparsed.add(data)
        self._parse()

    def _parse(self) -> None:
        """Feed the parser what has arrived, a head or a body at a time, and stop before a
        pipelined request while the response before it is due: httptools would parse every
        request it is given at once, and uvicorn would queue them all."""
        while self._unparsed and not (self._refused or self.transport.is_closing()):
            if not self._in_message and self.cycle is not None and not self.cycle.response_complete:
                self.flow.pause_reading()  # until on_response_complete
                return
            self._unset_keepalive_if_required()
            if not self._in_head:
                piece = self._unparsed.body(self._body_left)
                self._body_left -= len(piece)
            else:
                piece = self._unparsed.head()
                self._received += len(piece)
            if not self._feed(piece):
                return
            # A head still streaming in (one endless header, say): refused before httptools,
            # which holds an incomplete header field whole, buffers any more of it.
            if self._in_head and self._received > MAX_HEAD_BYTES:
                self._refuse(431, "Request header fields too large.")
                return
        self.flow.resume_reading()

    def _feed(self, piece: bytes) -> bool:
        """Whether to go on parsing after ``piece``."""
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            if not self._should_upgrade():
                self._unsupported_upgrade_warning()
                return True
            # What follows the upgrade request is dropped, as uvicorn drops it.
            self._unparsed.clear()
            self._send_deadline.cancel()
            self.flow.resume_reading()
            self.handle_websocket_upgrade()
            return False
        except httptools.HttpParserError as exc:
            refusal = exc.__context__
            if isinstance(refusal, _Refused):
                self._refuse(refusal.status, refusal.reason)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self._refuse(400, "Invalid HTTP request received.")
            return False
        return True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            self._stall_if_unsent()
        elif self._unparsed:
            self.loop.call_soon(self._parse)  # the next request, outside the app's send

    def pause_writing(self) -> None:
        super().pause_writing()
        self._send_deadline.arm()

    def resume_writing(self) -> None:
        super().resume_writing()
        if not self.transport.is_closing():
            self._send_deadline.cancel()

    def timeout_keep_alive_handler(self) -> None:
        super().timeout_keep_alive_handler()
        self._stall_if_unsent()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_message = True
        self._in_head = True
        self._head_size = 0
        self._fields = 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        line = len(self.parser.get_method()) + len(self.url) + len(" / HTTP/1.1") - 1
        if line > MAX_REQUEST_LINE_BYTES:
            raise _Refused(414, "Request line too long.")
        self._head_size = line

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:  # a trailer: chunked bodies are refused, this is a second guard
            raise _Refused(400, "Trailer fields are not accepted.")
        field = len(name) + 2 + len(value)
        self._fields += 1
        self._head_size += field
        if self._fields > MAX_HEADER_FIELDS:
            raise _Refused(431, "Too many header fields.")
        if field > MAX_HEADER_FIELD_BYTES:
            raise _Refused(431, "Request header field too large.")
        if self._head_size > MAX_HEAD_BYTES:
            raise _Refused(431, "Request header fields too large.")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._received = 0
        self._head_deadline.cancel()
        self._body_left = 0
        for name, value in self.headers:
            if name.lower() == b"transfer-encoding":
                raise _Refused(411, "Send the body with Content-Length, not chunked.")
            if name.lower() == b"content-length":
                if _over_body_limit(value):
                    raise _Refused(413, "Request body too large.")
                self._body_left = int(value)
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._body_deadline.arm()

    def on_message_complete(self) -> None:
        self._body_deadline.cancel()
        super().on_message_complete()
        self._in_message = False
        self._in_head = True
        self._body_left = 0  # what an upgrade's body would have been is parsed as a request

    def _arm_head_timer(self) -> None:
        if not self._refused:
            self._head_deadline.arm()

    def _close(self) -> None:
        self.transport.close()
        self._stall_if_unsent()

    def _stall_if_unsent(self) -> None:
        """A closing connection waits for its answer to be taken: for SEND_TIMEOUT_S at most."""
        if self.transport.get_write_buffer_size():
            self._send_deadline.arm()

    def _cut_off(self) -> None:
        reset(self.transport)

    def _body_timed_out(self) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_complete:
            self._close()  # answered already, without waiting for the body
        else:
            self._refuse(408, "Request body timeout.", of_cycle=True)

    def _head_timed_out(self) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer()  # a pipelined head waits for the response before it
            return
        if self._received:
            self._refuse(408, "Request header timeout.")
        else:
            self._close()

    def _refuse(self, status: int, reason: str, of_cycle: bool = False) -> None:
        """Answer ``status`` with ``reason`` and close, reading what still arrives meanwhile.

        ``of_cycle``: the refused request is the current cycle's (its body), not a next one."""
        self._refused = True
        self._head_deadline.cancel()
        self._body_deadline.cancel()
        self.headers = []
        self.url = b""
        self.pipeline.clear()
        self._unparsed.clear()
        self.flow.resume_reading()  # what the client still sends is read (and dropped)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started or not of_cycle:
                # A refusal would land inside (or before) a response still to be sent: cut
                # the connection instead.
                self.transport.abort()
                return
            cycle.disconnected = True  # the app's answer to a request not read in full: dropped
            cycle.message_event.set()
        body = reason.encode("ascii")
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self._close)
        else:
            # TLS: close() sends close_notify, then reads (and decrypts) until the client
            # answers it or asyncio's own shutdown timeout (30 s) ends; linger no longer.
            self.transport.close()
            self.loop.call_later(LINGER_S, self.transport.abort)


def _over_body_limit(value: bytes) -> bool:
    """httptools has already refused a Content-Length that is not a number."""
    return not value.strip().isdigit() or int(value) > MAX_BODY_BYTES
