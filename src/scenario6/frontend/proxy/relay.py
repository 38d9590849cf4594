"""One session's frames both ways between its client and its backend, once connected.

What the client sends before the backend's handshake is held (the stream's header) or
dropped, from the moment the session begins: :meth:`Relay.hold` serves the wait for a
backend as well. Once connected, :meth:`Relay.run` relays until something ends the session,
and says why with a :class:`SessionEnd`: the client or the backend leaving, a backend that
breaks the protocol, times out its handshake or stalls, a client that floods or idles, the
drain's deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import NoReturn

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from scenario6.protocol.messages import Kind
from scenario6.protocol.ogg import CAPTURE, OggError

from ..settings import FrontendSettings
from ..telemetry.observer import SessionTrace
from . import closes
from .closes import Close
from .downstream import ClientSocket, SessionEnd
from .drain import Drain
from .liveness import Liveness
from .pacing import Pacer
from .prelude import Prelude, PreludeTooLarge
from .upstream import breach, protocol_error

log = logging.getLogger("scenario6.frontend.session")  # the session's own log
_KINDS = frozenset(Kind)


class Relay:
    """The client's side of a session, and what it carried (for the session's log line)."""

    def __init__(
        self,
        client: ClientSocket,
        settings: FrontendSettings,
        drain: Drain,
        trace: SessionTrace,
        session: int,
    ) -> None:
        self._client = client
        self._settings = settings
        self._drain = drain
        self._trace = trace
        self._session = session
        self._prelude = Prelude(settings.max_message_bytes)
        self._handshake = asyncio.Event()
        self._answered = False  # the backend's first audio has reached the client
        self._liveness = Liveness(
            settings.idle_timeout_s, settings.backend_stall_timeout_s, time.monotonic()
        )
        self.bytes_in = 0
        self.bytes_out = 0
        self.dropped = 0

    def hold(self, data: bytes | None) -> None:
        """A message the client sent before the handshake: the stream's header is kept for
        the backend, anything else dropped."""
        try:
            if data and data[0] == Kind.AUDIO and self._prelude.take(data):
                return
        except PreludeTooLarge as exc:
            raise SessionEnd(Close(closes.POLICY, str(exc))) from None
        self.dropped += 1

    async def run(self, upstream: ClientConnection) -> NoReturn:
        """Relay between the client and ``upstream`` until the session ends."""
        tasks = [
            asyncio.create_task(self._client_to_backend(upstream)),
            asyncio.create_task(self._backend_to_client(upstream)),
            asyncio.create_task(self._watchdog()),
            asyncio.create_task(self._cut_when_drained()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel(tasks)
        error = next(iter(done)).exception()
        if isinstance(error, SessionEnd):
            raise error
        raise RuntimeError("relay task ended without a reason") from error

    async def _client_to_backend(self, upstream: ClientConnection) -> None:
        # Until the handshake upstream discards what it is sent: hold the stream's header.
        # Reading goes on meanwhile, so that a client leaving or flooding is noticed.
        pending: asyncio.Future[bytes | None] | None = None
        try:
            while not self._handshake.is_set():
                pending = pending or asyncio.ensure_future(self._client.receive())
                handshake: asyncio.Future[object] = asyncio.ensure_future(self._handshake.wait())
                try:
                    await asyncio.wait((pending, handshake), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    handshake.cancel()
                if pending.done():
                    self.hold(pending.result())
                    pending = None
            for message in self._prelude.release():
                await self._forward(upstream, message)
            pacer = Pacer(self._settings.audio_burst_s, time.monotonic())
            while True:
                while (held := pacer.release(time.monotonic())) is not None:
                    await self._forward(upstream, held)
                wait = pacer.wait(time.monotonic())
                if wait is not None:  # keep reading while audio waits: a flood shows
                    pending = pending or asyncio.ensure_future(self._client.receive())
                    await asyncio.wait((pending,), timeout=wait)
                    if not pending.done():
                        continue
                data = await (pending or self._client.receive())
                pending = None
                # Upstream ignores other kinds and official clients send some: drop, don't
                # close. Audio must be whole Ogg pages of Opus, or its length could not be
                # counted (and junk would only upset the backend's decoder). (Checking every
                # page's CRC would cost more than the whole relay.)
                if not data or data[0] != Kind.AUDIO or not data.startswith(CAPTURE, 1):
                    self.dropped += 1
                    continue
                try:
                    if pacer.take(data, time.monotonic()):
                        await self._forward(upstream, data)
                except OggError:
                    self.dropped += 1
        finally:
            # A read still under way when the relay ends must not outlive the session.
            if pending is not None and not pending.done():
                pending.cancel()

    async def _forward(self, upstream: ClientConnection, data: bytes) -> None:
        self._liveness.sent(time.monotonic())
        self.bytes_in += len(data)
        try:
            await upstream.send(data)
        except ConnectionClosed:
            await self._backend_gone(upstream)

    async def _backend_to_client(self, upstream: ClientConnection) -> None:
        try:
            async for message in upstream:
                # Clients act on the three kinds only; an empty message would crash those that
                # read its first byte. Audio payloads still pass unchanged.
                if isinstance(message, str) or not message or message[0] not in _KINDS:
                    continue
                self._liveness.answered()
                if message[0] == Kind.HANDSHAKE and not self._handshake.is_set():
                    self._handshake.set()
                    self._trace.handshake()
                    self._liveness.restart(time.monotonic())
                elif message[0] == Kind.AUDIO and not self._answered:
                    self._answered = True  # once, not on every frame of the relay
                    self._trace.first_audio()
                self.bytes_out += len(message)
                await self._client.send_bytes(message)
        except ConnectionClosed:
            pass
        await self._backend_gone(upstream)

    async def _backend_gone(self, upstream: ClientConnection) -> None:
        broken = breach(upstream)
        if broken is not None:
            error = protocol_error(upstream)
            log.warning("session %d: backend broke the protocol: %s", self._session, error)
            raise SessionEnd(Close(closes.BACKEND_CLOSED, f"backend broke the protocol: {broken}"))
        code = upstream.close_code
        detail = f"{code} {upstream.close_reason}".strip() if code else "connection lost"
        raise SessionEnd(Close(closes.BACKEND_CLOSED, f"backend closed the session ({detail})"))

    async def _cut_when_drained(self) -> None:
        await self._drain.expired.wait()
        raise SessionEnd(self._drain.cut())

    async def _watchdog(self) -> None:
        # Not wait_for: before Python 3.12 it loses a cancellation that comes as the handshake
        # does (a backend that breaks the protocol right after it), and the relay would then
        # wait for this task for ever.
        handshake = asyncio.ensure_future(self._handshake.wait())
        try:
            await asyncio.wait((handshake,), timeout=self._settings.handshake_timeout_s)
        finally:
            handshake.cancel()
        if not self._handshake.is_set():
            waited = int(self._settings.handshake_timeout_s)
            raise SessionEnd(
                Close(closes.HANDSHAKE_TIMEOUT, f"backend handshake timeout after {waited}s")
            )
        while True:
            verdict, wait = self._liveness.check(time.monotonic())
            if verdict is not None:
                raise SessionEnd(verdict)
            await asyncio.sleep(wait)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait for them, cancelling again any that go on: on Python 3.10 a
    relay task reading a backend that is still sending (websockets 16) was seen to lose its
    cancellation and wait for ever, holding the session open."""
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.1)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: a failure here is already reported by the relay
