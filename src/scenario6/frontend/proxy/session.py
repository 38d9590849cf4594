"""One client's session through the proxy: admitted, waits for a backend, connects, relays
(:mod:`.relay`), and closes with a reason."""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
import time
from typing import Any

from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode

from scenario6.frontend.telemetry import session_trace

from ..settings import FrontendSettings
from . import closes
from .advertisement import advertisement
from .closes import Close
from .downstream import ClientSocket, SessionEnd
from .drain import TURNED_AWAY, Drain
from .pool import Backend, BackendPool, Waiter
from .relay import Relay
from .request import SessionRequest
from .upstream import open_session

log = logging.getLogger("scenario6.frontend.session")
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
        self.backend: Backend | None = None
        self._trace = session_trace(websocket, self.id)
        self._relay = Relay(self._client, settings, drain, self._trace, self.id)

    async def run(self) -> None:
        started = time.monotonic()
        close: Close | None
        try:
            close = await self._serve_within_limit(self._limit_key)
        except SessionEnd as end:
            close = end.close
        await self._client.close(close)
        relay = self._relay
        self._trace.ended(close, relay.bytes_in, relay.bytes_out)
        log.info(
            "session %d ended after %.1fs: backend=%s bytes_in=%d bytes_out=%d dropped=%d %s",
            self.id,
            time.monotonic() - started,
            self.backend.label if self.backend else "-",
            relay.bytes_in,
            relay.bytes_out,
            relay.dropped,
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
                await self._relay.run(upstream)
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
            self._relay.hold(await self._client.receive())

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
