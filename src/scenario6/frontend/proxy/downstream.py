"""The client's side of a session: its messages in, within limits; messages and a close out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..settings import FrontendSettings
from . import closes
from .closes import Close
from .ratelimit import TokenBucket


class SessionEnd(Exception):
    """Ends a session; ``close`` is what the client is told (None: the client is gone)."""

    def __init__(self, close: Close | None) -> None:
        super().__init__(close)
        self.close = close


class ClientSocket:
    """A client's WebSocket with the proxy's limits: size, rate, and time to take a message."""

    def __init__(self, websocket: WebSocket, settings: FrontendSettings, events: bool) -> None:
        self._ws = websocket
        self._settings = settings
        self._events = events
        self._limiter = TokenBucket(
            settings.max_messages_per_second, max(50.0, 2 * settings.max_messages_per_second)
        )
        self._closed = False
        self.close_code: int | None = None  # the code the client left with, if it did

    async def receive(self) -> bytes | None:
        """The next message: bytes for binary, None for text. Enforces the limits."""
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            self.close_code = message.get("code")
            raise SessionEnd(None)
        data: bytes | None = message.get("bytes")
        size = len(data) if data is not None else len((message.get("text") or "").encode())
        if not self._limiter.take():
            raise SessionEnd(Close(closes.POLICY, "too many messages"))
        # `scenario6 frontend` has the server refuse these already; plain uvicorn does not.
        if size > self._settings.max_message_bytes:
            limit = self._settings.max_message_bytes
            raise SessionEnd(Close(closes.TOO_BIG, f"message too big: {size} > {limit} bytes"))
        return data

    async def send_bytes(self, message: bytes) -> None:
        await self._send(self._ws.send_bytes(message))

    async def event(self, event: dict[str, object]) -> None:
        """A JSON event, for a client that opted in."""
        if self._events:
            await self._send(self._ws.send_text(json.dumps(event)))

    async def close(self, close: Close | None) -> None:
        """Close once with ``close``; None: the client is gone already."""
        if close is None or self._closed:
            return
        self._closed = True
        if self._ws.application_state == WebSocketState.DISCONNECTED:
            return
        # A client that does not read cannot take a close frame either: give up after a while
        # so that the session still ends.
        with contextlib.suppress(Exception):
            await _within(refuse(self._ws, close, self._events), self._settings.send_timeout_s)

    async def _send(self, sending: Awaitable[None]) -> None:
        try:
            await _within(sending, self._settings.send_timeout_s)
        except asyncio.TimeoutError:  # the builtin TimeoutError from Python 3.11 on
            raise SessionEnd(
                Close(closes.CLIENT_TOO_SLOW, "client too slow: not reading")
            ) from None
        except (WebSocketDisconnect, OSError, RuntimeError):
            raise SessionEnd(None) from None


async def refuse(websocket: WebSocket, close: Close, events: bool) -> None:
    """Close a client with ``close``; an opted-in client first gets it as an error event."""
    if events:
        with contextlib.suppress(Exception):
            event = {"type": "error", "code": close.code, "reason": close.reason}
            await websocket.send_text(json.dumps(event))
    await websocket.close(close.code, close.reason)


if sys.version_info >= (3, 11):

    async def _within(awaitable: Awaitable[None], seconds: float) -> None:
        # A deadline rather than wait_for, which makes a task per message.
        async with asyncio.timeout(seconds):
            await awaitable

else:  # Python 3.10 has no asyncio.timeout

    async def _within(awaitable: Awaitable[None], seconds: float) -> None:
        await asyncio.wait_for(awaitable, seconds)
