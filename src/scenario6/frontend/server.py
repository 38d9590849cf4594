"""The frontend's uvicorn server: SIGTERM drains the app before the server stops.

uvicorn stops on SIGTERM at once: it closes its listening sockets, sends 1012 to every
WebSocket and cancels what is left after ``timeout_graceful_shutdown``. Probes would then
find nothing to ask and conversations would be cut. Here the first SIGTERM only begins the
app's drain (``drain``) while the server keeps answering; uvicorn's own shutdown follows once
the drain is over, and the process exits 0. Ctrl-C, or a second SIGTERM, stops at once.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from types import FrameType

import uvicorn

from .proxy.drain import Drain


class FrontendServer(uvicorn.Server):
    """uvicorn's server with a drain before its shutdown.

    >>> app = create_app(settings)  # doctest: +SKIP
    >>> FrontendServer(uvicorn.Config(app), app.state.drain).run()  # doctest: +SKIP
    """

    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self._drain = drain
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drain_asked = False
        self._draining: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._drain_asked or self._loop is None or self.should_exit:
            super().handle_exit(sig, frame)
            return
        # Not recorded as a captured signal: a finished drain is a clean exit, not a kill.
        self._drain_asked = True
        self._loop.call_soon_threadsafe(self._begin_drain)

    def _begin_drain(self) -> None:
        self._draining = asyncio.ensure_future(self._drain_then_stop())

    async def _drain_then_stop(self) -> None:
        await self._drain.run()
        self.should_exit = True  # uvicorn's main loop sees it within 0.1 s
