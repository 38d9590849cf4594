"""Real frontend processes for the hostile tests, started each way users start one, and the
raw HTTP/1.1 these tests speak to them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from scenario6.apphost import Configuration, Operation, ParameterResolver
from scenario6.backend.certs import CertificateFiles
from scenario6.bench.harness import HOST, ChildServer, free_port
from scenario6.containers import ContainerRuntime
from scenario6.run.commands import native_command
from scenario6.run.resolve import RunResolver
from tests.support.appmodel import load_app

REPO = Path(__file__).resolve().parents[2]
# Short enough to wait for in a test; the defaults are what docs/security.md states.
TIMEOUTS = {"HEADER_TIMEOUT_S": "1", "KEEP_ALIVE_TIMEOUT_S": "1"}
WAYS = ["scenario6 frontend", "scenario6 frontend --reload", "run: uvicorn", "run: reloader"]


@dataclass
class Frontend:
    process: ChildServer
    port: int

    def chat_url(self, persona: str) -> str:
        return f"ws://{HOST}:{self.port}{chat_target(persona)}"


def chat_target(persona: str) -> str:
    return f"/api/chat?voice_prompt=NATF2.pt&text_prompt={quote(persona)}"


def _run_mode_command(
    backend_url: str, port: int, reload: bool
) -> tuple[list[str], dict[str, str]]:
    """The frontend's command line and environment as `scenario6 run` builds them."""
    app = load_app(Operation.RUN, backend_url, {"FRONTEND_PORT": str(port)})
    resolver = RunResolver(
        app,
        ParameterResolver(Configuration(environ={}), prompt=None),
        ContainerRuntime("/usr/bin/docker", "host"),
    )
    resource = next(r for r in app.resources if r.name == "scenario6-frontend")
    argv = native_command(resource, resolver, Path(sys.executable), reload)
    return argv, resolver.native_environment(resource)


@contextlib.contextmanager
def launched(
    way: str,
    backend_url: str,
    tls: CertificateFiles | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[Frontend]:
    port = free_port()
    env = {"MOSHI_WS_URL": backend_url, **TIMEOUTS, **(settings or {})}
    if tls is not None:
        env |= {"APP_SSL_CERTFILE": str(tls.cert), "APP_SSL_KEYFILE": str(tls.key)}
    if way.startswith("run: "):
        argv, run_env = _run_mode_command(backend_url, port, reload=way == "run: reloader")
        process = ChildServer(argv, env={**run_env, **env}, command=())
    else:
        extra = ["--reload"] if way.endswith("--reload") else []
        process = ChildServer(["frontend", "--host", HOST, "--port", str(port), *extra], env=env)
    try:
        if tls is None:
            process.wait_healthy(f"http://{HOST}:{port}/health")
        else:
            _wait_listening(process, port)
        yield Frontend(process, port)
    finally:
        process.stop()


def _wait_listening(process: ChildServer, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.popen.poll() is None, process.output()[-2000:]
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} not listening after {timeout:g}s")


@dataclass
class Answer:
    status: int  # 0: closed without an answer; -1: neither answered nor closed
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection after answering


async def exchange(port: int, request: bytes, timeout: float = 10) -> Answer:
    """Send ``request`` whole (the server may refuse it midway) and read the answer to EOF."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(writer.drain(), timeout)
        try:
            received = await asyncio.wait_for(reader.read(1 << 16), timeout)
            while chunk := await asyncio.wait_for(reader.read(1 << 16), timeout):
                received += chunk
        except asyncio.TimeoutError:  # the builtin TimeoutError from Python 3.11 on
            return Answer(-1 if not received else _status(received), {}, b"", closed=False)
        except ConnectionError:
            return Answer(0, {}, b"", closed=True)
        if not received:
            return Answer(0, {}, b"", closed=True)
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        return Answer(_status(received), headers, body, closed=True)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _status(received: bytes) -> int:
    return int(received.split(b" ", 2)[1])


def request(target: str, *headers: str, upgrade: bool = False) -> bytes:
    lines = [f"GET {target} HTTP/1.1", f"Host: {HOST}"]
    if upgrade:
        lines += [
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
        ]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode("latin-1")


def post(target: str, *headers: str, body: bytes = b"") -> bytes:
    head = request(target, *headers).replace(b"GET ", b"POST ", 1)
    return head + body


CHUNKED = "Transfer-Encoding: chunked"
# A chunked body's last chunk, then a trailer field that never ends.
ENDLESS_TRAILER = b"0\r\nX-Trailer: "


ONE_MIB = "X-Padding: " + "a" * (1 << 20)


async def closed_after(reader: asyncio.StreamReader, timeout: float) -> tuple[bytes, float]:
    """What arrives until the server closes, and when it closed."""
    began = time.monotonic()
    received = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await asyncio.wait_for(reader.read(4096), timeout):
            received += chunk
    return received, time.monotonic() - began
