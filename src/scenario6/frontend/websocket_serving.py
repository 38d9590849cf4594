"""How upgraded connections are served: uvicorn's websockets protocol, with websockets' own
limits raised to the HTTP layer's (``serving``), its refusals sent, an empty close answered
with 1000, and an app's own refusal of an upgrade (an HTTP answer) taken as the end of it."""

from __future__ import annotations

import websockets.http11
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame

from scenario6.protocol.limits import MAX_HEADER_FIELD_BYTES, MAX_REQUEST_LINE_BYTES

from .serving import MAX_HEADER_FIELDS

# websockets reads these module globals on every parse; CRLF counts in its line length.
websockets.http11.MAX_LINE_LENGTH = max(
    websockets.http11.MAX_LINE_LENGTH, MAX_REQUEST_LINE_BYTES + 2, MAX_HEADER_FIELD_BYTES + 2
)
websockets.http11.MAX_NUM_HEADERS = max(websockets.http11.MAX_NUM_HEADERS, MAX_HEADER_FIELDS)

_EMPTY_CLOSE = b"\x88\x00"  # an unmasked close frame without a code: what websockets echoes
_NORMAL_CLOSE = b"\x88\x02\x03\xe8"  # close 1000


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets protocol that sends websockets' own refusals, answers an empty
    close with 1000 and logs no error for an upgrade the app refused on purpose."""

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            # The refusal is the handshake's answer: uvicorn would otherwise log every one (a
            # draining replica refuses many) as an app that "returned without completing
            # handshake", and try to send a 500 after it.
            self.handshake_complete = True

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.handshake_initiated and self.conn.handshake_exc is not None:
            # uvicorn waits for a request event that never comes; write what websockets
            # answered (or nothing, for a request it could not read) and close.
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.conn.handshake_exc = None
            self.transport.close()

    def handle_close(self, event: Frame) -> None:
        if self.close_sent or self.transport.is_closing() or event.data:
            super().handle_close(event)
            return
        assert self.conn.close_rcvd is not None
        code = self.conn.close_rcvd.code
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": ""})
        output = b"".join(self.conn.data_to_send())
        if output.endswith(_EMPTY_CLOSE):  # websockets echoes the empty close; answer 1000
            output = output[: -len(_EMPTY_CLOSE)] + _NORMAL_CLOSE
        self.transport.write(output)
        self.transport.close()
