"""Pipelined requests against a real frontend process: whatever a client sends in one write,
the server holds one request's work at a time, counts every head against the head limit, and
closes a client that does not read its answers."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import Iterator

import pytest

from scenario6.bench.harness import HOST
from scenario6.frontend.serving import MAX_HEAD_BYTES
from tests.hostile.frontends import Frontend, closed_after, exchange, launched, post, request

# The default is 5 s: under 4 s (the answers that fill the buffers take well under one) tells
# it apart, and from a server that never closes.
SETTINGS = {"SEND_TIMEOUT_S": "1"}
CLOSED_WITHIN_S = 4
# A 10 KiB answer: a client that reads none of them fills its socket buffers after a few.
ASSET = request("/static/js/app.js")
FLOOD = ASSET * (265_000 // len(ASSET))  # about 5,000 requests in one write
# About 1,000 requests, which the server reads in one go: when it cuts the client off, no
# unread request is left to make the kernel reset the connection by itself.
READ_WHOLE = ASSET * 1_000
CONNECTIONS = 20
MiB = 1 << 20
TCP_ESTABLISHED = 1  # tcp_info's first byte: the connection's state


@pytest.fixture(scope="module")
def frontend(backend_url: str) -> Iterator[Frontend]:
    with launched("scenario6 frontend", backend_url, settings=SETTINGS) as running:
        # The first static file served loads what serving one takes.
        warm_up = request("/static/js/app.js", "Connection: close")
        assert asyncio.run(exchange(running.port, warm_up)).status == 200
        yield running


async def _flood(port: int, flood: bytes = FLOOD) -> socket.socket:
    """A connection that sends ``flood`` (as much as the server takes) and never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (HOST, port))
    with contextlib.suppress(asyncio.TimeoutError):  # a server that stopped reading
        await asyncio.wait_for(loop.sock_sendall(sock, flood), 2)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """Closed or reset by the server, though this side has read nothing."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_ESTABLISHED


async def _all_closed(frontend: Frontend, socks: list[socket.socket], timeout: float) -> int:
    """Waits until the server has closed every one of ``socks`` (``timeout`` at most); the
    frontend's largest RSS meanwhile."""
    deadline = time.monotonic() + timeout
    peak = 0
    while time.monotonic() < deadline:
        peak = max(peak, frontend.process.rss_bytes())
        if all(_closed_by_server(sock) for sock in socks):
            break
        await asyncio.sleep(0.05)
    return peak


@pytest.mark.parametrize("flood", [FLOOD, READ_WHOLE], ids=["requests-unread", "all-read"])
async def test_a_client_that_does_not_read_its_answers_is_closed(
    frontend: Frontend, flood: bytes
) -> None:
    """Closed at once, by a reset: a close would queue behind megabytes of answers the client
    never takes, which the kernel would keep for minutes."""
    began = time.monotonic()
    sock = await _flood(frontend.port, flood)
    try:
        await _all_closed(frontend, [sock], 10)
        after = time.monotonic() - began
    finally:
        sock.close()
    print(f"a client that reads nothing: closed after {after:.1f}s")
    assert after < CLOSED_WITHIN_S, f"still open after {after:.1f}s"


async def test_pipelined_floods_cost_no_more_than_one_request_each(frontend: Frontend) -> None:
    """20 connections of 5,000 pipelined requests each, never read: the frontend's memory
    barely moves, during and after, and every one is closed."""
    before = frontend.process.rss_bytes()
    began = time.monotonic()
    socks = await asyncio.gather(*(_flood(frontend.port) for _ in range(CONNECTIONS)))
    try:
        # Each is answered until the network's buffers are full (some 400 answers here).
        during = await _all_closed(frontend, socks, 60)
        after = time.monotonic() - began
    finally:
        for sock in socks:
            sock.close()
    await asyncio.sleep(0.5)
    left = frontend.process.rss_bytes()
    print(
        f"frontend RSS {before / MiB:.1f} MiB; with {CONNECTIONS} pipelining connections "
        f"{during / MiB:.1f} MiB at most; after they left {left / MiB:.1f} MiB; "
        f"all closed after {after:.1f}s"
    )
    assert max(during, left) - before < 30 * MiB
    assert after < 60, "a connection that never reads was left open"


async def test_a_partial_head_after_complete_requests_counts_against_the_head_limit(
    frontend: Frontend,
) -> None:
    """The last head arrives in the same write as the requests before it, unfinished: they
    are answered in order, then it is refused."""
    complete = [request("/health"), post("/health", "Content-Length: 5", body=b"hello")]
    partial = b"GET /health HTTP/1.1\r\nX-Padding: " + b"a" * (MAX_HEAD_BYTES + 4096)
    reader, writer = await asyncio.open_connection(HOST, frontend.port)
    try:
        writer.write(b"".join(complete) + partial)
        received, _ = await closed_after(reader, 10)
    finally:
        writer.close()
    # 405: /health takes no body.
    assert re.findall(rb"HTTP/1\.1 (\d+) ", received) == [b"200", b"405", b"431"], received
