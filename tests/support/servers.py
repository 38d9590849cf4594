"""Real servers on free loopback ports: in the test's event loop, or as child processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from aiohttp import web

from scenario6.backend.loopback import LoopbackBackend, LoopbackSettings
from scenario6.frontend.app import create_app
from scenario6.frontend.settings import FrontendSettings

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


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
) -> AsyncIterator[RunningLoopback]:
    backend = LoopbackBackend(settings or LoopbackSettings(prompt_ms=200, delay_ms=0))
    runner = web.AppRunner(backend.app(), handle_signals=False, shutdown_timeout=1)
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


class Process:
    """A ``scenario6`` child process in its own process group, stopped with its children."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log = (
            Path(os.environ.get("TMPDIR", "/tmp")) / f"scenario6-test-{os.getpid()}-{id(self)}.log"
        )
        self._log_file = self.log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "scenario6", *args],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.args} exited {self.popen.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{url} not healthy after {timeout}s:\n{self.output()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log_file.close()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@contextlib.contextmanager
def loopback_process(port: int | None = None, *extra: str) -> Iterator[tuple[Process, int]]:
    port = port or free_port()
    process = Process(["backend", "loopback", "--host", HOST, "--port", str(port), *extra])
    try:
        process.wait_healthy(f"http://{HOST}:{port}/health")
        yield process, port
    finally:
        process.stop()


@contextlib.contextmanager
def frontend_process(env: dict[str, str], port: int | None = None) -> Iterator[tuple[Process, int]]:
    port = port or free_port()
    process = Process(["frontend", "--host", HOST, "--port", str(port)], env=env)
    try:
        process.wait_healthy(f"http://{HOST}:{port}/health")
        yield process, port
    finally:
        process.stop()
