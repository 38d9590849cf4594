"""The loopback backend, the real PersonaPlex server and the batched server (with one slot),
as a client sees them: the same.

Every test here runs against all three, but one: what upstream loses before its handshake,
which the batched server keeps (tests/personaplex/test_batched_server.py). The loopback's
deliberate differences (a clear HTTP 400 for a bad request, a health route, the text it says)
are listed in docs/protocol.md and tested in tests/backend.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from urllib.parse import urlencode

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed

from scenario6.protocol.messages import Kind
from tests.frontend.test_client_parameters import OFFICIAL
from tests.personaplex.talk import (
    FRAMES,
    HANDSHAKE_TIMEOUT_S,
    QUERY,
    frames_out,
    talk_until_answered,
)
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.personaplex import BATCHED, UPSTREAM, TinyPersonaPlex, personaplex_server
from tests.support.servers import loopback_process


def _serve(request: pytest.FixtureRequest) -> Iterator[str]:
    """The chat URL of a running backend of the kind ``request.param``."""
    if request.param == "loopback":
        with loopback_process(None, "--delay-ms", "0") as (_, port):
            yield f"ws://127.0.0.1:{port}/api/chat"
        return
    tiny: TinyPersonaPlex = request.getfixturevalue("tiny_personaplex")
    batched = request.param == "batched"
    with personaplex_server(
        tiny, arguments=["--slots", "1"] if batched else [], module=BATCHED if batched else UPSTREAM
    ) as server:
        yield server.url


@pytest.fixture(scope="module", params=["personaplex", "batched", "loopback"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _serve(request)


@pytest.fixture(scope="module", params=["personaplex", "loopback"])
def lossy_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Upstream, and the loopback that imitates it."""
    yield from _serve(request)


async def test_the_handshake_comes_first_and_audio_back_is_ogg_opus(backend: str) -> None:
    async with conversation(backend + QUERY) as talk:
        await talk_until_answered(talk)
    assert talk.kinds[0] == Kind.HANDSHAKE
    # The decoder reads an Ogg stream of Opus packets: it yields audio only from one.
    pcm = talk.decoder.pcm
    assert np.isfinite(pcm).all() and np.abs(pcm).max() > 0


async def test_output_is_clocked_by_input(backend: str) -> None:
    async with conversation(backend + QUERY) as talk:
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        await asyncio.sleep(3)
        # The real server may send its stream's header pages; nothing to hear or read.
        assert frames_out(talk) == 0, "a client that sends nothing gets no audio back"
        assert Kind.TEXT not in talk.kinds, "nor any text"
        await talk_until_answered(talk)
        await asyncio.sleep(1)
        assert abs(frames_out(talk) - FRAMES) <= 2, "one 80 ms frame out per frame in"
        assert not talk.closed.is_set()


async def test_a_second_connection_waits_without_handshake_until_the_first_ends(
    backend: str,
) -> None:
    async with conversation(backend + QUERY) as first:
        await first.wait_for(first.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        async with conversation(backend + QUERY) as second:
            await first.send_audio(encode_messages(sweep(1.0)))
            assert second.kinds == [], "upgraded, but nothing until the first session ends"
            assert not second.closed.is_set()
            await first.ws.close()
            await second.wait_for(second.handshake.is_set, HANDSHAKE_TIMEOUT_S)


async def test_audio_sent_before_the_handshake_is_lost_with_the_stream_header(
    lossy_backend: str,
) -> None:
    """What the proxy protects clients from: what precedes the handshake is discarded, so a
    stream whose header pages came early never decodes, and the session ends normally."""
    messages = encode_messages(sweep(2.0))
    async with conversation(lossy_backend + QUERY) as talk:
        await talk.ws.send(messages[0])  # OpusHead, OpusTags and the first audio
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        with contextlib.suppress(ConnectionClosed):  # the server may end it mid-send
            await talk.send_audio(messages[1:])
        await talk.wait_for(talk.closed.is_set, 30)
    assert frames_out(talk) == 0
    assert talk.close_code == 1000


async def test_the_official_clients_sampling_parameters_are_accepted(backend: str) -> None:
    async with conversation(backend + QUERY + "&" + urlencode(OFFICIAL)) as talk:
        await talk_until_answered(talk, frames=5)
    assert frames_out(talk) >= 3


async def test_a_client_that_closes_is_answered_with_1000(backend: str) -> None:
    async with conversation(backend + QUERY) as talk:
        await talk_until_answered(talk, frames=5)
        await talk.ws.close(4000, "done")
    assert talk.ws.protocol.close_rcvd is not None
    assert talk.ws.protocol.close_rcvd.code == 1000


async def test_a_persona_of_1000_cjk_characters_opens_a_session(backend: str) -> None:
    """9,000 bytes percent-encoded: over aiohttp's default 8190-byte request line."""
    persona = ("你好，我是你的助手。" * 100)[:1000]
    query = "?" + urlencode({"voice_prompt": "NATF2.pt", "text_prompt": persona})
    async with conversation(backend + query) as talk:
        await talk_until_answered(talk, frames=5)
    assert frames_out(talk) >= 3
