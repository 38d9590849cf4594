"""A model server's drain: on SIGTERM it takes no new conversation and lets the live ones end.

aiohttp's ``run_app`` would stop listening at once (new upgrades get a refused connection,
not an answer) and cancel the conversations still open after ``shutdown_timeout`` (60 s),
shorter than the frontend's own drain. :func:`serve` keeps the port open instead: new
upgrades get 503 (the frontend's pool then tries another backend for that session), live
conversations go on until they end or the drain timeout passes, then close with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from scenario6.facts.contract import DRAIN_TIMEOUT_S

log = logging.getLogger("scenario6.backend.drain")

DRAIN_CLOSE = 1001  # going away: the client may reconnect elsewhere
DRAIN_REASON = b"server shutting down"
CLOSE_S = 2.0  # how long a close waits for the client's answer
RETRY_AFTER_S = 5  # what a refused client is told; the pool has other backends meanwhile


class Drain:
    """The conversations a server holds, and whether it still takes new ones.

    >>> drain = Drain(timeout_s=120)
    >>> drain.admit()  # while serving: nothing happens; while draining: HTTP 503
    """

    def __init__(self, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self.draining = False
        self._live: set[web.WebSocketResponse] = set()
        self._waiting: set[web.WebSocketResponse] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def live(self) -> int:
        return len(self._live)

    def admit(self) -> None:
        """Raise 503 before the upgrade while draining."""
        if self.draining:
            raise web.HTTPServiceUnavailable(
                text="this backend is shutting down: it takes no new conversation\n",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )

    @contextlib.contextmanager
    def hold(self, ws: web.WebSocketResponse) -> Iterator[None]:
        """Count ``ws`` as a live conversation while the block runs."""
        self._live.add(ws)
        self._idle.clear()
        try:
            yield
        finally:
            self._live.discard(ws)
            if not self._live:
                self._idle.set()

    @contextlib.contextmanager
    def waiting(self, ws: web.WebSocketResponse) -> Iterator[None]:
        """Count ``ws`` as connected but waiting for its turn while the block runs (or until
        ``begun``): a drain closes it at once with 1001, so that it goes elsewhere rather
        than begin here."""
        self._waiting.add(ws)
        try:
            yield
        finally:
            self._waiting.discard(ws)

    def begun(self, ws: web.WebSocketResponse) -> None:
        """``ws`` got its turn before the drain: the drain lets it finish."""
        self._waiting.discard(ws)

    async def finish(self, forced: asyncio.Event) -> None:
        """Refuse new conversations, send the waiting ones away, wait for the live ones (until
        the timeout or ``forced``), then close what is left with 1001."""
        self.draining = True
        log.warning(
            "draining: %d conversation(s) live, up to %g s for them to end; %d waiting sent away",
            self.live,
            self.timeout_s,
            len(self._waiting),
        )
        await asyncio.gather(*(_close(ws) for ws in list(self._waiting)))
        waits = [asyncio.ensure_future(self._idle.wait()), asyncio.ensure_future(forced.wait())]
        try:
            await asyncio.wait(waits, timeout=self.timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if self._live:
            log.warning("closing %d conversation(s) still live after the drain", self.live)
            await asyncio.gather(*(_close(ws) for ws in list(self._live)))


async def _close(ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code=DRAIN_CLOSE, message=DRAIN_REASON), CLOSE_S)


async def serve(
    app: web.Application,
    drain: Drain,
    *,
    host: str | None,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    **handler: Any,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then drain; a second signal cuts the drain short.
    ``handler``: options of aiohttp's request handler, such as ``max_line_size``."""
    # Handlers, once the drain has closed their sockets, need only moments to return.
    runner = web.AppRunner(app, shutdown_timeout=CLOSE_S * 2, **handler)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
        stop, forced = asyncio.Event(), asyncio.Event()

        def signalled() -> None:
            (forced if stop.is_set() else stop).set()

        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, signalled)
        await stop.wait()
        await drain.finish(forced)
    finally:
        await runner.cleanup()
