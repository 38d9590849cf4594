"""The session proxy in front of the real PersonaPlex server: what the loopback used to hide.

The real server's output is clocked by its input, and it discards what arrives before its
handshake. Through the proxy, a client that pauses keeps its session, and audio sent early
(before the handshake, or while queued) keeps its stream header.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from websockets.exceptions import ConnectionClosed

from tests.personaplex.talk import (
    HANDSHAKE_TIMEOUT_S,
    answered,
)
from tests.support.audio import encode_messages, sweep
from tests.support.client import Conversation, conversation
from tests.support.personaplex import PersonaPlexProcess, TinyPersonaPlex, personaplex_server
from tests.support.servers import frontend_server

STALL_S = 2.0  # the proxy's stall timeout in these tests (15 s by default)


async def test_a_client_that_pauses_longer_than_the_stall_timeout_keeps_its_session(
    server: PersonaPlexProcess,
) -> None:
    messages = encode_messages(sweep(2.0))
    async with (
        frontend_server(moshi_ws_url=server.url, backend_stall_timeout_s=STALL_S) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        await answered(talk, messages[:12])
        # Muted: nothing is sent, so the real server sends nothing either.
        await asyncio.sleep(STALL_S * 2.5)
        assert not talk.closed.is_set(), (talk.close_code, talk.close_reason)
        await answered(talk, messages[12:])
        assert not talk.closed.is_set()


async def test_a_backend_that_stops_answering_while_audio_flows_is_given_up_on(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    with personaplex_server(tiny_personaplex) as frozen:
        async with (
            frontend_server(moshi_ws_url=frozen.url, backend_stall_timeout_s=STALL_S) as fe,
            conversation(fe.chat_url()) as talk,
        ):
            await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
            await answered(talk, encode_messages(sweep(1.0)))
            os.killpg(frozen.popen.pid, signal.SIGSTOP)
            try:
                sender = asyncio.create_task(_keep_talking(talk))
                await talk.wait_for(talk.closed.is_set, 30)
                sender.cancel()
            finally:
                os.killpg(frozen.popen.pid, signal.SIGCONT)
    assert talk.close_code == 4503
    assert "stalled" in (talk.close_reason or "")


async def test_audio_sent_before_the_handshake_keeps_its_stream_header(
    server: PersonaPlexProcess,
) -> None:
    messages = encode_messages(sweep(3.0))
    async with (
        frontend_server(moshi_ws_url=server.url) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        # Header pages and the first second of audio, all before the prompt phase ends.
        for message in messages[:12]:
            await talk.ws.send(message)
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        await answered(talk, messages[12:])
        assert not talk.closed.is_set(), (talk.close_code, talk.close_reason)


async def test_audio_sent_while_queued_keeps_its_stream_header(
    server: PersonaPlexProcess,
) -> None:
    messages = encode_messages(sweep(3.0))
    async with (
        frontend_server(moshi_ws_url=server.url) as fe,
        conversation(fe.chat_url()) as first,
    ):
        await first.wait_for(first.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        async with conversation(fe.chat_url("VARM3.pt", events="1")) as second:
            await second.wait_for(lambda: second.events_of("queued"))
            await second.send_audio(messages[:12])  # talking while in line
            await first.ws.close()
            await second.wait_for(second.handshake.is_set, HANDSHAKE_TIMEOUT_S)
            await answered(second, messages[12:])
            assert not second.closed.is_set(), (second.close_code, second.close_reason)


async def _keep_talking(talk: Conversation) -> None:
    """A client speaking at the real cadence, as long as it can."""
    messages = encode_messages(sweep(1.0))
    with contextlib.suppress(ConnectionClosed):
        while True:
            await talk.send_audio(messages)


async def test_a_persona_of_1000_cjk_characters_reaches_the_real_server(
    server: PersonaPlexProcess,
) -> None:
    """The longest persona the docs allow, through every server on the way."""
    persona = ("你好，我是你的助手。" * 100)[:1000]
    async with (
        frontend_server(moshi_ws_url=server.url) as fe,
        conversation(fe.chat_url(persona=persona, events="1")) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        await answered(talk, encode_messages(sweep(0.5)))
    assert talk.events_of("error") == []
