"""Only the names the frontend serves get answers; origins are compared with those names.

DNS rebinding: a page on ``evil.example`` whose name resolves to the frontend's address sends
``Host: evil.example`` and ``Origin: http://evil.example``, same-origin with itself. Neither
its requests nor its session upgrades may get through.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from pathlib import Path

import httpx
import pytest
import yaml

from scenario6.backend.certs import covered_names
from scenario6.bench.harness import HOST
from scenario6.frontend.proxy.request import origin_allowed
from scenario6.frontend.settings import FrontendSettings
from scenario6.publish.bundle import publish
from scenario6.publish.options import PublishOptions
from tests.support.docker import REPO
from tests.support.servers import frontend_server, loopback_server
from tests.support.waiting import until


async def raw_exchange(port: int, request: bytes) -> tuple[int, str]:
    """Send ``request`` as it is; (status, body) of the answer (0: closed without one)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(request)
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        body = await asyncio.wait_for(reader.read(4096), 10)
    except (asyncio.IncompleteReadError, ConnectionError):
        return 0, ""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return int(head.split(b" ", 2)[1]), body.decode(errors="replace")


def upgrade(host: str, origin: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        "GET /api/chat?voice_prompt=NATF2.pt HTTP/1.1\r\n"
        f"Host: {host}\r\nOrigin: {origin}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def get(port: int, path: str, host: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client:
        return await client.get(path, headers={"Host": host})


@pytest.mark.parametrize("path", ["/", "/api/config", "/static/favicon.svg", "/api/docs"])
async def test_a_foreign_host_name_is_refused_on_every_route(path: str) -> None:
    async with frontend_server() as fe:
        refused = await get(fe.port, path, f"evil.example:{fe.port}")
        assert refused.status_code == 400
        assert "evil.example" in refused.text and "SERVER_NAMES" in refused.text
        for name in ("localhost", "127.0.0.1", "[::1]"):
            assert (await get(fe.port, path, f"{name}:{fe.port}")).status_code == 200, name


async def test_health_answers_probes_whatever_host_they_use() -> None:
    async with frontend_server() as fe:
        # Kubernetes probes send the pod's IP; Compose and Docker the container's name.
        for host in ("10.244.1.17:8010", "scenario6-frontend:8010"):
            assert (await get(fe.port, "/health", host)).status_code == 200


async def test_a_rebound_page_cannot_open_a_session() -> None:
    async with loopback_server() as lb, frontend_server(moshi_ws_url=lb.url) as fe:
        host = f"evil.example:{fe.port}"
        status, body = await raw_exchange(fe.port, upgrade(host, f"http://{host}"))
        assert status == 400 and "evil.example" in body
        # The served name still opens sessions, from its own page.
        ours = f"localhost:{fe.port}"
        status, _ = await raw_exchange(fe.port, upgrade(ours, f"http://{ours}"))
        assert status == 101
        await until(lambda: list(lb.backend.sessions), "the proxy to open the backend session")
    assert [s.query["voice_prompt"] for s in lb.backend.sessions] == ["NATF2.pt"]


async def test_server_names_replace_the_local_defaults() -> None:
    async with frontend_server(server_names="chat.example.com,localhost:9999") as fe:
        assert (await get(fe.port, "/", "chat.example.com")).status_code == 200
        assert (await get(fe.port, "/", f"Chat.Example.com.:{fe.port}")).status_code == 200
        assert (await get(fe.port, "/", "localhost:9999")).status_code == 200
        assert (await get(fe.port, "/", f"localhost:{fe.port}")).status_code == 400
        assert (await get(fe.port, "/", "chat.example.com.evil.example")).status_code == 400


async def test_a_bracketed_address_followed_by_a_name_is_refused() -> None:
    async with loopback_server() as lb, frontend_server(moshi_ws_url=lb.url) as fe:
        for host in ("[::1]evil.example", "[::1]evil.example:80", "[::1]:80x"):
            assert (await get(fe.port, "/", host)).status_code == 400, host
        assert (await get(fe.port, "/", "[::1]:80")).status_code == 200


def test_origins_are_compared_with_the_served_names_not_the_arriving_host() -> None:
    default = FrontendSettings()
    # Same-origin with its own Host, but not a served name: the rebinding case.
    assert not origin_allowed("http://evil.example:8010", "evil.example:8010", default)
    assert origin_allowed("http://localhost:8010", "localhost:8010", default)
    assert not origin_allowed("http://localhost:3000", "localhost:8010", default)
    named = FrontendSettings(server_names="chat.example.com")
    assert origin_allowed("https://chat.example.com", "chat.example.com", named)
    assert not origin_allowed("http://localhost:8010", "localhost:8010", named)
    listed = FrontendSettings(allowed_origins="https://app.example.org")
    assert origin_allowed("https://app.example.org", "localhost:8010", listed)


def test_a_published_frontend_answers_to_every_name_its_certificate_covers(
    tmp_path: Path,
) -> None:
    options = PublishOptions(
        apphost=REPO / "apphost.py",
        output=tmp_path / "deploy",
        backend="loopback",
        tls_names=("chat.example.com", "192.0.2.10"),
    )
    published = publish(options)
    compose = yaml.safe_load((published.folder / "compose.yaml").read_text())
    served = compose["services"]["scenario6-frontend"]["environment"]["SERVER_NAMES"]
    settings = FrontendSettings(server_names=served)
    assert published.certificate is not None
    covered = covered_names(published.certificate.cert.read_bytes())
    assert {"chat.example.com", "192.0.2.10", "localhost"} <= covered
    for name in covered:
        host = f"[{name}]" if ":" in name else name
        assert origin_allowed(f"https://{host}:8443", f"{host}:8443", settings), name
    assert not origin_allowed("https://evil.example", "evil.example", settings)
