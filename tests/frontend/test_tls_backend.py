"""wss backends are verified against MOSHI_TLS_CA; verification is never silently off."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest

from scenario6.backend.certs import ensure_certificate
from tests.support.client import conversation
from tests.support.servers import frontend_server, loopback_server


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    files, _ = ensure_certificate(tmp_path / "certs", ["localhost", "127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    return files.ca, context


async def test_wss_backend_is_accepted_with_its_ca(
    certificate: tuple[Path, ssl.SSLContext],
) -> None:
    ca, server_tls = certificate
    async with (
        loopback_server(ssl_context=server_tls) as lb,
        frontend_server(moshi_ws_url=lb.url, moshi_tls_ca=ca) as fe,
        conversation(fe.chat_url(events="1")) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        assert talk.events_of("backend")[0]["url"] == lb.url


async def test_wss_backend_is_refused_without_its_ca(
    certificate: tuple[Path, ssl.SSLContext],
) -> None:
    _, server_tls = certificate
    async with (
        loopback_server(ssl_context=server_tls) as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.closed.is_set)
        assert talk.close_code == 4502
        assert talk.close_reason == "backend unreachable: TLS verification failed"
        assert list(lb.backend.sessions) == []


async def test_insecure_mode_works_and_warns(
    certificate: tuple[Path, ssl.SSLContext], caplog: pytest.LogCaptureFixture
) -> None:
    _, server_tls = certificate
    caplog.set_level(logging.WARNING, logger="scenario6.frontend")
    async with (
        loopback_server(ssl_context=server_tls) as lb,
        frontend_server(moshi_ws_url=lb.url, moshi_tls_insecure=True) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
    assert "NOT verified" in caplog.text
