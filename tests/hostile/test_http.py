"""Hostile HTTP: traversal in paths, huge or broken requests. Clear refusals, no leaks, and
no backend session."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import Servers
from tests.hostile.wire import RawClient, http_status

UPGRADE = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


@pytest.mark.parametrize(
    "target",
    [
        "/static/../../pyproject.toml",
        "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2f..%2f..%2fpyproject.toml",
        "/static/%252e%252e%252fpyproject.toml",
        "/static/..%5c..%5cpyproject.toml",
        "/static/%c0%ae%c0%ae/pyproject.toml",
        "/static/index.html%00.txt",
        "/static/%ff%fe",
        "/static//etc/passwd",
        "/../../etc/passwd",
    ],
)
async def test_path_traversal_never_leaves_the_static_folder(servers: Servers, target: str) -> None:
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    status = await http_status(servers.fe.port, request)
    assert status in {400, 404}, status


@pytest.mark.parametrize(
    "request_bytes",
    [
        # A 200 kB query string on the session endpoint.
        f"GET /api/chat?voice_prompt=NATF2.pt&text_prompt={'a' * 200_000} HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\n{UPGRADE}\r\n".encode(),
        # One 200 kB header.
        f"GET /api/chat?voice_prompt=NATF2.pt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-Big: {'b' * 200_000}\r\n{UPGRADE}\r\n".encode(),
        # Ten thousand small headers.
        b"GET /api/chat?voice_prompt=NATF2.pt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + b"".join(b"X-%d: y\r\n" % i for i in range(10_000))
        + UPGRADE.encode()
        + b"\r\n",
        # Not HTTP.
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(100) + b"\r\n\r\n",
        b"GET /api/chat?voice_prompt=NATF2.pt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Bad\x00Header: 1\r\n\r\n",
    ],
    ids=["huge-query", "huge-header", "many-headers", "tls-to-plain-port", "nul-in-header"],
)
async def test_oversize_or_broken_requests_are_refused(
    servers: Servers, request_bytes: bytes
) -> None:
    # Uvicorn's WebSocket handshake leaves an oversize upgrade request unanswered (and the
    # connection open until the client gives up): refused all the same, and harmless.
    status = await http_status(servers.fe.port, request_bytes, timeout=1)
    assert status != 101 and status < 500, status
    assert servers.backend_sessions() == []
    health = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    assert await http_status(servers.fe.port, health) == 200, "the frontend stopped serving"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_other_methods_on_the_session_endpoint_are_refused(
    servers: Servers, method: str
) -> None:
    request = (
        f"{method} /api/chat?voice_prompt=NATF2.pt&text_prompt=x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode()
    status = await http_status(servers.fe.port, request)
    assert status in {404, 405}, status
    assert servers.backend_sessions() == []


async def test_wrong_websocket_version_is_refused(servers: Servers) -> None:
    client, status = await RawClient.open(
        servers.fe.port,
        "/api/chat?voice_prompt=NATF2.pt&text_prompt=x",
        {"Sec-WebSocket-Version": "8"},
    )
    await client.aclose()
    assert status not in {0, 101}
    assert servers.backend_sessions() == []
