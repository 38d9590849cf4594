"""Request bodies and refusals under hostile clients, in a real frontend process: a body has
a size limit and a deadline, a chunked one is refused, one client streaming cannot stall the
others, and a refusal over TLS does not linger."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from pathlib import Path

import pytest

from scenario6.backend.certs import ensure_certificate, subject_names
from scenario6.bench.harness import HOST
from scenario6.frontend.serving import LINGER_S
from tests.hostile.frontends import (
    CHUNKED,
    ENDLESS_TRAILER,
    ONE_MIB,
    exchange,
    launched,
    post,
    request,
)


async def _sign_in_slowly(port: int, interval: float) -> tuple[bytes, float]:
    """A sign-in of 4000 bytes announced, ``code=`` sent, then a byte every ``interval``
    (none when 0): what came back, and when the server closed."""
    reader, writer = await asyncio.open_connection(HOST, port)
    began = time.monotonic()
    received = b""
    try:
        writer.write(post("/api/signin", "Content-Length: 4000", body=b"code="))
        while not reader.at_eof() and time.monotonic() - began < 10:
            if interval:
                writer.write(b"a")
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                received += await asyncio.wait_for(reader.read(4096), interval or 10)
        return received, time.monotonic() - began
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_body_not_sent_in_time_is_answered_408(backend_url: str) -> None:
    """A byte now and then would restart a timer that measures silence: the body has a
    deadline, stalled or trickling."""
    codes = {"ACCESS_CODES": "slow-body-test-code-0123"}  # so that sign-in reads its body
    with launched("scenario6 frontend", backend_url, settings=codes) as running:
        stalled, trickled = await asyncio.gather(
            _sign_in_slowly(running.port, 0), _sign_in_slowly(running.port, 0.2)
        )
    for received, after in (stalled, trickled):
        assert received.startswith(b"HTTP/1.1 408 ")
        assert after < 4  # the timeout is 1 s here


async def _stream(port: int, head: bytes, filler: bytes, total: int) -> bytes:
    """``head``, then ``filler`` until ``total`` bytes went or the server stopped reading;
    what the server answered."""
    reader, writer = await asyncio.open_connection(HOST, port)
    sent = 0
    try:
        writer.write(head)
        with contextlib.suppress(ConnectionError):
            while sent < total and not reader.at_eof() and not writer.is_closing():
                writer.write(filler)
                await asyncio.wait_for(writer.drain(), 10)
                sent += len(filler)
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            return await asyncio.wait_for(reader.read(4096), 10)
        return b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _health_times(port: int, done: asyncio.Future[bytes]) -> list[float]:
    times = []
    while not done.done():
        began = time.monotonic()
        answer = await exchange(port, request("/health", "Connection: close"), timeout=30)
        assert answer.status == 200
        times.append(time.monotonic() - began)
        await asyncio.sleep(0.1)
    return times


STREAMS = {
    # A trailer is parsed after the head's limits and timer are done with.
    "endless trailer": (post("/health", CHUNKED) + ENDLESS_TRAILER, b"a" * (1 << 20), 411),
    "endless header": (b"GET /health HTTP/1.1\r\nX-Padding: ", b"a" * (1 << 20), 431),
    "huge body": (post("/api/signin", f"Content-Length: {1 << 30}"), b"a" * (1 << 20), 413),
}


@pytest.mark.parametrize("stream", STREAMS)
async def test_one_client_streaming_does_not_stall_the_others(
    backend_url: str, stream: str
) -> None:
    """Unfixed, httptools gathered a trailer of 128 MiB, quadratically, while /health waited."""
    head, filler, expected = STREAMS[stream]
    with launched("scenario6 frontend", backend_url) as running:
        hostile = asyncio.ensure_future(_stream(running.port, head, filler, 128 << 20))
        times = await _health_times(running.port, hostile)
        answer = await hostile
    print(f"{stream}: /health took {max(times):.2f} s at most")
    assert max(times) < 2  # generous: only a stall fails it (unfixed, 5.8 s)
    assert answer.startswith(f"HTTP/1.1 {expected} ".encode())


def _refused_over_tls_then_kept_sending(port: int, ca: Path) -> tuple[bytes, float]:
    """Blocking TLS, so that nothing answers the server's close_notify (asyncio's client
    would): the answer, then how long the server took the bytes still sent after it."""
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    with socket.create_connection((HOST, port), timeout=30) as raw, context.wrap_socket(raw) as tls:
        tls.sendall(request("/health", ONE_MIB))
        answer = tls.recv(4096)
        began = time.monotonic()
        with contextlib.suppress(OSError):
            while time.monotonic() - began < 40:
                tls.sendall(b"a" * 4096)
                time.sleep(0.05)
        return answer, time.monotonic() - began


async def test_a_refusal_over_tls_closes_after_lingering(backend_url: str, tmp_path: Path) -> None:
    """asyncio's TLS transport cannot half-close, and its close() reads on until the client
    answers: unfixed, a client that goes on sending held the connection 30 s."""
    files, _ = ensure_certificate(tmp_path, subject_names("localhost"))
    with launched("scenario6 frontend", backend_url, files) as running:
        answer, after = await asyncio.to_thread(
            _refused_over_tls_then_kept_sending, running.port, files.ca
        )
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert after < LINGER_S + 3
