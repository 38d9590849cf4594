from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from scenario6.backend.loopback import LoopbackBackend, LoopbackSettings
from scenario6.bench.harness import HOST, free_port
from scenario6.protocol.limits import MAX_REQUEST_LINE_BYTES
from tests.support.servers import RunningFrontend, RunningLoopback, frontend_server, loopback_server


@dataclass
class Servers:
    lb: RunningLoopback
    fe: RunningFrontend

    def backend_sessions(self) -> list[dict[str, object]]:
        return [r.summary() for r in self.lb.backend.sessions]


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    """A loopback backend behind a frontend whose limits are small enough to reach quickly."""
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url, max_message_bytes=4096) as fe,
    ):
        yield Servers(lb, fe)


@pytest.fixture(scope="module")
def backend_url() -> Iterator[str]:
    """The loopback backend, taking request lines as long as the frontend's.

    aiohttp's default (8190 bytes), which PersonaPlex's server keeps, would refuse the
    longest personas itself; this module is about the frontend's limits."""
    loop = asyncio.new_event_loop()
    port = free_port()
    backend = LoopbackBackend(LoopbackSettings(prompt_ms=100, delay_ms=0))
    runner = web.AppRunner(
        backend.app(), handle_signals=False, max_line_size=MAX_REQUEST_LINE_BYTES
    )
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, HOST, port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"ws://{HOST}:{port}/api/chat"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
