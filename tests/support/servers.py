"""Real servers on free loopback ports: in the test's event loop, or as child processes."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import uvicorn
from aiohttp import web

from scenario6.backend.loopback import LoopbackBackend, LoopbackSettings
from scenario6.bench.harness import HOST, ChildServer, free_port
from scenario6.frontend.app import create_app
from scenario6.frontend.serving import UVICORN_OPTIONS
from scenario6.frontend.settings import FrontendSettings


@dataclass
class RunningLoopback:
    backend: LoopbackBackend
    port: int
    runner: web.AppRunner
    scheme: str = "ws"

    async def stop(self) -> None:
        """Stop serving, as a crashed or stopped backend would."""
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}/api/chat"


@contextlib.asynccontextmanager
async def loopback_server(
    settings: LoopbackSettings | None = None,
    port: int | None = None,
    ssl_context: ssl.SSLContext | None = None,
    response_headers: dict[str, str] | None = None,
) -> AsyncIterator[RunningLoopback]:
    """A loopback backend; ``response_headers`` are set on every response it sends (a
    backend that says something else about itself than the loopback does)."""
    backend = LoopbackBackend(settings or LoopbackSettings(prompt_ms=200, delay_ms=0))
    app = backend.app()
    if response_headers:

        async def rewrite(_: web.Request, response: web.StreamResponse) -> None:
            response.headers.update(response_headers)

        app.on_response_prepare.append(rewrite)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    port = port or free_port()
    site = web.TCPSite(runner, HOST, port, ssl_context=ssl_context)
    await site.start()
    try:
        yield RunningLoopback(backend, port, runner, "wss" if ssl_context else "ws")
    finally:
        await runner.cleanup()


@dataclass
class RunningFrontend:
    app_settings: FrontendSettings
    port: int

    @property
    def http(self) -> str:
        return f"http://{HOST}:{self.port}"

    def chat_url(self, voice: str = "NATF2.pt", persona: str = "Be brief.", **extra: str) -> str:
        from urllib.parse import urlencode

        query = {"voice_prompt": voice, "text_prompt": persona, **extra}
        return f"ws://{HOST}:{self.port}/api/chat?{urlencode(query)}"


@contextlib.asynccontextmanager
async def frontend_server(**settings: object) -> AsyncIterator[RunningFrontend]:
    """The frontend in this event loop; keyword arguments are FrontendSettings fields."""
    frontend_settings = FrontendSettings(**settings)  # type: ignore[arg-type]
    port = free_port()
    config = uvicorn.Config(
        create_app(frontend_settings),
        host=HOST,
        port=port,
        log_level="warning",
        ws_max_size=frontend_settings.max_message_bytes,
        lifespan="on",
        **UVICORN_OPTIONS,  # served as every launcher serves it
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the frontend stopped during start-up")
        await asyncio.sleep(0.01)
    try:
        yield RunningFrontend(frontend_settings, port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@contextlib.contextmanager
def loopback_process(port: int | None = None, *extra: str) -> Iterator[tuple[ChildServer, int]]:
    port = port or free_port()
    process = ChildServer(["backend", "loopback", "--host", HOST, "--port", str(port), *extra])
    try:
        process.wait_healthy(f"http://{HOST}:{port}/health")
        yield process, port
    finally:
        process.stop()


@contextlib.contextmanager
def frontend_process(
    env: dict[str, str], port: int | None = None
) -> Iterator[tuple[ChildServer, int]]:
    port = port or free_port()
    # Stopped with SIGTERM: a session a test left open must not hold its drain for long.
    env = {"DRAIN_TIMEOUT_S": "1", **env}
    process = ChildServer(["frontend", "--host", HOST, "--port", str(port)], env=env)
    try:
        process.wait_healthy(f"http://{HOST}:{port}/health")
        yield process, port
    finally:
        process.stop()
