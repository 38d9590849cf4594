"""``--backend-tls``: the published backend serves wss and the frontend trusts it through the
CA the backend writes into the volume they share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import OVERRIDE, Stack, published_stack
from tests.support.audio import best_correlation, encode_messages, sweep
from tests.support.client import conversation

pytestmark = pytest.mark.docker
TLS_OVERRIDE = Path(__file__).with_name("compose.backend-tls.yaml")


@pytest.fixture(scope="module")
def tls_stack(
    docker: str, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("tls")
    with published_stack(
        folder, base_image, "--backend-tls", overrides=(OVERRIDE, TLS_OVERRIDE)
    ) as stack:
        yield stack


async def test_frontend_relays_to_the_wss_backend_it_verifies(tls_stack: Stack) -> None:
    sent = sweep(1.5)
    async with conversation(tls_stack.ws(events="1"), **tls_stack.connect) as talk:
        await talk.wait_for(talk.handshake.is_set, timeout=60)
        [backend] = talk.events_of("backend")
        assert backend["url"] == f"wss://localhost:{tls_stack.backend_port}/api/chat"
        assert backend["kind"] == "loopback"
        await talk.send_audio(encode_messages(sent))
        await talk.wait_for(lambda: len(talk.decoder.pcm) >= len(sent) * 0.8, timeout=30)
    correlation, _ = best_correlation(sent, talk.decoder.pcm)
    assert correlation > 0.8
