"""The real PersonaPlex server, natively with the tiny model: what clients and the proxy rely on."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed

from scenario6.backend.certs import ensure_certificate
from scenario6.protocol.messages import Kind
from tests.support.audio import FRAME, encode_messages, sweep
from tests.support.client import Conversation, conversation
from tests.support.personaplex import PersonaPlexProcess, TinyPersonaPlex, personaplex_server

QUERY = "?" + urlencode({"voice_prompt": "NATF2.pt", "text_prompt": "Be brief."})
# Generous bounds that only catch hangs; the handshake takes 1-2 s here.
HANDSHAKE_TIMEOUT_S = 60
FRAMES = 25  # 2 s of audio in 80 ms frames


@pytest.fixture(scope="module")
def server(tiny_personaplex: TinyPersonaPlex) -> Iterator[PersonaPlexProcess]:
    with personaplex_server(tiny_personaplex) as process:
        yield process


def frames_out(talk: Conversation) -> float:
    return len(talk.decoder.pcm) / FRAME


async def talk_until_answered(talk: Conversation, frames: int = FRAMES) -> None:
    await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
    await talk.send_audio(encode_messages(sweep(frames * FRAME / 24000)))
    await talk.wait_for(lambda: frames_out(talk) >= frames - 2, 30)


async def test_the_handshake_is_the_first_message_and_ends_the_prompt_phase(
    server: PersonaPlexProcess,
) -> None:
    async with conversation(server.url + QUERY) as talk:
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
    assert talk.kinds[0] == Kind.HANDSHAKE
    log = server.output()
    assert log.rindex("done with system prompts") < log.rindex("sent handshake bytes")


async def test_audio_out_is_ogg_opus_that_decodes(server: PersonaPlexProcess) -> None:
    async with conversation(server.url + QUERY) as talk:
        await talk_until_answered(talk)
    # The decoder reads an Ogg stream of Opus packets: it yields audio only from one.
    pcm = talk.decoder.pcm
    assert len(pcm) > 0
    assert np.isfinite(pcm).all()
    assert np.abs(pcm).max() > 0


async def test_output_is_clocked_by_input(server: PersonaPlexProcess) -> None:
    async with conversation(server.url + QUERY) as talk:
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        await asyncio.sleep(3)
        assert frames_out(talk) == 0, "a client that sends nothing gets no audio back"
        await talk_until_answered(talk)
        await asyncio.sleep(1)
        assert abs(frames_out(talk) - FRAMES) <= 2, "one 80 ms frame out per frame in"
        assert not talk.closed.is_set()


async def test_a_second_connection_waits_without_handshake_until_the_first_ends(
    server: PersonaPlexProcess,
) -> None:
    async with conversation(server.url + QUERY) as first:
        await first.wait_for(first.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        async with conversation(server.url + QUERY) as second:
            await first.send_audio(encode_messages(sweep(1.0)))
            await asyncio.sleep(1)
            assert second.kinds == [], "upgraded, but nothing until the first session ends"
            assert not second.closed.is_set()
            await first.ws.close()
            await second.wait_for(second.handshake.is_set, HANDSHAKE_TIMEOUT_S)


def test_upstream_command_line_starts_offline_from_the_cache_over_tls(
    tiny_personaplex: TinyPersonaPlex, tmp_path: Path
) -> None:
    files, _ = ensure_certificate(tmp_path, ["localhost", "127.0.0.1"])
    trust = ssl.create_default_context(cafile=str(files.ca))

    async def converse(url: str) -> Conversation:
        async with conversation(url + QUERY, ssl=trust) as talk:
            await talk_until_answered(talk, frames=5)
        return talk

    with personaplex_server(tiny_personaplex, layout="hf", ssl_dir=tmp_path) as process:
        assert process.url.startswith("wss://")
        talk = asyncio.run(converse(process.url))
    assert frames_out(talk) >= 3
    log = process.output()
    assert "serving static content" in log, "no --static: the cache's dist.tgz is served"


async def test_audio_sent_before_the_handshake_is_lost_with_the_stream_header(
    server: PersonaPlexProcess,
) -> None:
    """What the proxy must protect clients from: the server drops what precedes its handshake,
    so a stream whose header pages came early never decodes, and the session ends."""
    messages = encode_messages(sweep(2.0))
    async with conversation(server.url + QUERY) as talk:
        await talk.ws.send(messages[0])  # OpusHead, OpusTags and the first audio
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        with contextlib.suppress(ConnectionClosed):  # the server may end it mid-send
            await talk.send_audio(messages[1:])
        await talk.wait_for(talk.closed.is_set, 30)
    assert frames_out(talk) == 0
