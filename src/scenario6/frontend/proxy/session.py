"""One client's session through the proxy: wait for a backend, relay, close with a reason."""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
import time
from typing import Any

from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode

from scenario6.frontend.telemetry import session_trace
from scenario6.protocol.messages import Kind
from scenario6.protocol.ogg import CAPTURE, OggError

from ..settings import FrontendSettings
from . import closes
from .advertisement import advertisement
from .closes import Close
from .downstream import ClientSocket, SessionEnd
from .drain import TURNED_AWAY, Drain
from .liveness import Liveness
from .pacing import Pacer
from .pool import Backend, BackendPool, Waiter
from .prelude import Prelude, PreludeTooLarge
from .request import SessionRequest
from .upstream import breach, open_session, protocol_error

log = logging.getLogger("scenario6.frontend.session")
_KINDS = frozenset(Kind)
_ids = itertools.count(1)
# Close codes a client may have sent that can be passed on to the backend as they are.
_SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, *range(3000, 5000)})


class ProxySession:
    """Relays one client to one backend, frames unchanged, and says why it ended."""

    def __init__(
        self,
        websocket: WebSocket,
        request: SessionRequest,
        pool: BackendPool,
        settings: FrontendSettings,
        tls: ssl.SSLContext | None,
        limit_key: str,
        drain: Drain,
    ) -> None:
        self.id = next(_ids)
        self._limit_key = limit_key  # whose sessions these count as: a person or an address
        self._client = ClientSocket(websocket, settings, request.events)
        self._request = request
        self._pool = pool
        self._settings = settings
        self._tls = tls
        self._drain = drain
        self._handshake = asyncio.Event()
        self._answered = False  # the backend's first audio has reached the client
        self._prelude = Prelude(settings.max_message_bytes)
        self._liveness = Liveness(
            settings.idle_timeout_s, settings.backend_stall_timeout_s, time.monotonic()
        )
        self.backend: Backend | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.dropped = 0
        self._trace = session_trace(websocket, self.id)

    async def run(self) -> None:
        started = time.monotonic()
        close: Close | None
        try:
            close = await self._serve_within_limit(self._limit_key)
        except SessionEnd as end:
            close = end.close
        await self._client.close(close)
        self._trace.ended(close, self.bytes_in, self.bytes_out)
        log.info(
            "session %d ended after %.1fs: backend=%s bytes_in=%d bytes_out=%d dropped=%d %s",
            self.id,
            time.monotonic() - started,
            self.backend.label if self.backend else "-",
            self.bytes_in,
            self.bytes_out,
            self.dropped,
            f"close={close.code} {close.reason!r}" if close else "client left",
        )

    async def _serve_within_limit(self, client: str) -> Close:
        # Its place in line is taken on arrival: admission may keep it waiting (for a
        # shared count that Redis lost to be written back), and others with it.
        ticket = await self._pool.arrival()
        if not await self._admit(client):
            limit = self._pool.clients.limit
            return Close(closes.TOO_MANY_SESSIONS, f"too many sessions from this client ({limit})")
        try:
            return await self._serve(ticket)
        finally:
            self._pool.clients.leave(client)

    async def _admit(self, client: str) -> bool:
        """Whether ``client`` may have one more session; a client that leaves meanwhile
        takes nothing with it."""
        admission = asyncio.ensure_future(self._pool.clients.admit(client))
        try:
            await self._watching(admission)
        except BaseException:
            admission.cancel()
            await asyncio.gather(admission, return_exceptions=True)
            if not admission.cancelled() and admission.exception() is None and admission.result():
                self._pool.clients.leave(client)
            raise
        return admission.result()

    async def _serve(self, ticket: int) -> Close:
        if self._request.ignored:
            message = "ignored parameters: " + ", ".join(self._request.ignored)
            await self._client.event({"type": "warning", "message": message})
        if self._request.invalid:
            message = "dropped out-of-range or malformed values: " + ", ".join(
                self._request.invalid
            )
            await self._client.event({"type": "warning", "message": message})
        await self._pool.refresh()
        tried: set[Backend] = set()
        while True:
            # Never hands back a backend in ``tried``.
            backend = await self._wait_for_backend(frozenset(tried), ticket)
            tried.add(backend)
            self.backend = backend
            try:
                upstream = await self._connect(backend)
            except SessionEnd:
                self._trace.backend_error(backend.url.url)
                self._pool.release(backend, failed=True)
                if not any(b not in tried and not b.retired for b in self._pool.backends):
                    raise
                continue
            try:
                # Inside the try: a client gone by now must not leave the backend session open.
                await self._client.event(
                    {"type": "backend", "url": backend.url.url, "kind": backend.kind}
                )
                return await self._relay(upstream)
            except SessionEnd as end:
                if end.close is not None and end.close.code in closes.BACKEND_FAULTS:
                    self._trace.backend_error(backend.url.url)
                # Tell the client first: closing upstream can take a while. Not a client that
                # does not read, though: it may never take the close, so free the backend first.
                if end.close is None or end.close.code != closes.CLIENT_TOO_SLOW:
                    await self._client.close(end.close)
                raise
            finally:
                await upstream.close(*self._upstream_close())
                self._pool.release(backend)

    async def _wait_for_backend(self, tried: frozenset[Backend], ticket: int) -> Backend:
        waiter = await self._pool.enqueue(avoid=tried, ticket=ticket)
        try:
            if not waiter.future.done():
                await self._queue(waiter)
            return waiter.future.result()
        except BaseException:
            self._pool.leave(waiter)
            raise

    async def _queue(self, waiter: Waiter) -> None:
        log.info("session %d queued (%d waiting)", self.id, self._pool.queue_length)
        self._trace.queued(self._pool.position(waiter))
        reporter = asyncio.create_task(self._report_positions(waiter))
        try:
            await self._watching(waiter.future, self._settings.queue_timeout_s)
        finally:
            reporter.cancel()
            await asyncio.gather(reporter, return_exceptions=True)
        if not waiter.future.done():
            waited = int(self._settings.queue_timeout_s)
            raise SessionEnd(
                Close(closes.QUEUE_TIMEOUT, f"queue timeout: no backend free in {waited}s")
            )

    async def _watching(self, waited: asyncio.Future[Any], timeout: float | None = None) -> None:
        """Wait for ``waited`` (at most ``timeout``) while watching the client: one that
        leaves, or the frontend beginning to drain, ends the wait with a ``SessionEnd``."""
        watcher = asyncio.create_task(self._receive_while_waiting())
        draining = asyncio.create_task(self._drain.begun.wait())
        try:
            await asyncio.wait(
                {waited, watcher, draining}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (watcher, draining):
                task.cancel()
            await asyncio.gather(watcher, draining, return_exceptions=True)
        if watcher.done() and not watcher.cancelled() and watcher.exception():
            raise watcher.exception()  # type: ignore[misc]
        if waited.done():
            return
        if self._drain.draining:
            raise SessionEnd(TURNED_AWAY)  # another replica takes it, after a reconnect

    async def _report_positions(self, waiter: Waiter) -> None:
        last = 0
        while True:
            position = await waiter.positions.get()
            if position != last:
                last = position
                await self._client.event(
                    {"type": "queued", "position": position, "backends": len(self._pool.backends)}
                )

    async def _receive_while_waiting(self) -> None:
        """Notice a client leaving the queue; keep its stream header, drop its audio."""
        while True:
            self._before_handshake(await self._client.receive())

    def _before_handshake(self, data: bytes | None) -> None:
        try:
            if data and data[0] == Kind.AUDIO and self._prelude.take(data):
                return
        except PreludeTooLarge as exc:
            raise SessionEnd(Close(closes.POLICY, str(exc))) from None
        self.dropped += 1

    def _upstream_close(self) -> tuple[int, str]:
        """How to close the backend's session: with the code the client left with, if any."""
        code = self._client.close_code
        if code is not None and code in _SENDABLE:
            return code, "client closed"
        return CloseCode.NORMAL_CLOSURE, ""

    async def _connect(self, backend: Backend) -> ClientConnection:
        try:
            upstream = await open_session(
                backend, self._request.upstream_query(), self._settings, self._tls
            )
        except ssl.SSLError as exc:
            log.warning("session %d: TLS to %s failed: %s", self.id, backend.label, exc)
            raise SessionEnd(
                Close(closes.BACKEND_UNREACHABLE, "backend unreachable: TLS verification failed")
            ) from exc
        # websockets' open_timeout raises asyncio.TimeoutError, not yet TimeoutError, on 3.10.
        except (OSError, InvalidHandshake, TimeoutError, asyncio.TimeoutError) as exc:
            detail = (
                f"HTTP {exc.response.status_code}"
                if isinstance(exc, InvalidStatus)
                else (type(exc).__name__)
            )
            log.warning("session %d: backend %s unreachable: %s", self.id, backend.label, exc)
            raise SessionEnd(
                Close(closes.BACKEND_UNREACHABLE, f"backend unreachable ({detail})")
            ) from exc
        self._pool.learn(backend, advertisement(upstream.response))
        log.info("session %d on backend %s (%s)", self.id, backend.label, backend.kind)
        self._trace.backend(backend.url.url, backend.kind)
        return upstream

    async def _relay(self, upstream: ClientConnection) -> Close:
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
                    self._before_handshake(pending.result())
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
            log.warning("session %d: backend broke the protocol: %s", self.id, error)
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
