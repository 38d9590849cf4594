"""Backends that hang, stall or talk nonsense: bounded waits, clear reasons, no stuck slots."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.audio import encode_messages, sweep
from tests.support.client import Conversation, conversation
from tests.support.rogue import (
    Behaviour,
    RogueBackend,
    black_hole,
    breaks_protocol,
    closes_with,
    floods,
    never_handshakes,
    rogue_backend,
    sends,
    stalls,
)
from tests.support.servers import frontend_server, loopback_server
from tests.support.waiting import until

_TWO_MIB = 2 << 20


async def _next_client_is_put_through(url: str, rogue: RogueBackend) -> None:
    """The slot the last session held is free: a new client reaches the backend."""
    before = rogue.connections
    async with conversation(url) as talk:
        await talk.wait_for(lambda: rogue.connections > before or talk.closed.is_set())
    assert rogue.connections == before + 1, "the next client never reached the backend"


async def test_black_hole_backend_costs_one_connect_timeout_then_the_pool_serves() -> None:
    async with (
        black_hole() as hole,
        loopback_server() as lb,
        frontend_server(moshi_ws_url=f"{hole.url},{lb.url}", connect_timeout_s=0.5) as fe,
    ):
        started = time.monotonic()
        async with conversation(fe.chat_url(events="1")) as talk:
            await talk.wait_for(talk.handshake.is_set)
        assert time.monotonic() - started < 5
        assert hole.connections == 1
        assert talk.events_of("backend")[-1]["url"] == lb.url
        # The next client goes straight to the backend that works.
        async with conversation(fe.chat_url()) as again:
            await again.wait_for(again.handshake.is_set)
        assert hole.connections == 1


async def test_black_hole_alone_is_reported_unreachable() -> None:
    async with (
        black_hole() as hole,
        frontend_server(moshi_ws_url=hole.url, connect_timeout_s=0.5) as fe,
    ):
        for _ in range(2):  # the second proves the slot was given back
            async with conversation(fe.chat_url()) as talk:
                await talk.wait_for(talk.closed.is_set)
            assert talk.close_code == 4502
            assert "backend unreachable" in (talk.close_reason or "")
        assert hole.connections == 2


async def test_backend_that_accepts_and_never_handshakes() -> None:
    async with (
        rogue_backend(never_handshakes) as rogue,
        frontend_server(moshi_ws_url=rogue.url, handshake_timeout_s=0.5) as fe,
    ):
        async with conversation(fe.chat_url(events="1")) as talk:
            await talk.wait_for(talk.closed.is_set)
        assert talk.close_code == 4504
        assert talk.events_of("error")[-1]["code"] == 4504
        await _next_client_is_put_through(fe.chat_url(), rogue)


async def test_backend_that_stalls_mid_stream_is_given_up_on() -> None:
    async with (
        rogue_backend(stalls) as rogue,
        frontend_server(moshi_ws_url=rogue.url, backend_stall_timeout_s=1) as fe,
    ):
        async with conversation(fe.chat_url()) as talk:
            await talk.wait_for(talk.handshake.is_set)
            started = time.monotonic()
            sender = asyncio.create_task(_keep_talking(talk))
            await talk.wait_for(talk.closed.is_set, timeout=10)
            sender.cancel()
            waited = time.monotonic() - started
        assert talk.close_code == 4503
        assert "stalled" in (talk.close_reason or "")
        assert 0.5 < waited < 5, waited
        await _next_client_is_put_through(fe.chat_url(), rogue)


async def _keep_talking(talk: Conversation) -> None:
    """A client speaking at the real cadence, as long as it can."""
    messages = encode_messages(sweep(1.0))
    while True:
        try:
            await talk.send_audio(messages)
        except ConnectionClosed:
            return


async def test_garbage_from_a_backend_never_breaks_the_client() -> None:
    junk: list[bytes | str] = [
        b"",  # no kind byte at all: would crash a client indexing message[0]
        b"\x07unknown kind",
        "a text frame",
        b"\x01this is not Ogg",
        b"\x02 still talking",
    ]
    async with (
        rogue_backend(sends(junk)) as rogue,
        frontend_server(moshi_ws_url=rogue.url) as fe,
    ):
        async with connect(fe.chat_url(), compression=None) as ws:
            received = [await asyncio.wait_for(ws.recv(), 5) for _ in range(3)]
            # Frames a client can act on arrive unchanged; the others are dropped.
            assert received == [b"\x00", b"\x01this is not Ogg", b"\x02 still talking"]
            audio = encode_messages(sweep(0.08))[0]
            await ws.send(audio)
            # The session survives the junk: the client's audio still reaches the backend.
            await until(lambda: rogue.received, "the client's audio to reach the backend")
            assert rogue.received == [audio]
            assert ws.close_code is None, "the session must survive a backend's junk"
        await _next_client_is_put_through(fe.chat_url(), rogue)


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (
            breaks_protocol(b"\x82\x7f" + (_TWO_MIB + 1).to_bytes(8, "big") + b"\x01"),
            "backend broke the protocol: sent a 2.0 MiB message (limit 1 MiB)",
        ),
        (breaks_protocol(b"\x87\x01\x00"), "backend broke the protocol: sent a malformed frame"),
        (
            breaks_protocol(b"\x81\x02\xc3\x28"),
            "backend broke the protocol: sent text that is not UTF-8",
        ),
    ],
    ids=["too-big", "bad-opcode", "bad-utf8"],
)
async def test_a_backend_that_breaks_the_protocol_is_dropped_at_once(
    behaviour: Behaviour, reason: str
) -> None:
    """No closing handshake with a backend that broke the rules: the client hears at once,
    in words of the product's own, and the slot is free for the next client."""
    async with (
        rogue_backend(behaviour) as rogue,
        frontend_server(moshi_ws_url=rogue.url) as fe,
    ):
        async with conversation(fe.chat_url()) as talk:
            await talk.wait_for(talk.handshake.is_set)
            started = time.monotonic()
            await talk.wait_for(talk.closed.is_set, timeout=15)
            waited = time.monotonic() - started
        print(f"protocol breach reported to the client in {waited * 1000:.0f} ms")
        assert (talk.close_code, talk.close_reason) == (4503, reason)
        assert waited < 3, waited
        await _next_client_is_put_through(fe.chat_url(), rogue)


@pytest.mark.parametrize("code", [1002, 1007, 1009])
async def test_a_backend_closing_with_a_protocol_code_is_not_said_to_break_the_protocol(
    code: int,
) -> None:
    """A backend that closes a session with a code the library would also fail a connection
    with (1007: it could not read the client's stream) broke no rule itself: the client hears
    the backend's own code and reason."""
    async with (
        rogue_backend(closes_with(code, "unreadable Ogg stream")) as rogue,
        frontend_server(moshi_ws_url=rogue.url) as fe,
    ):
        async with conversation(fe.chat_url()) as talk:
            await talk.wait_for(talk.closed.is_set, timeout=15)
        reason = f"backend closed the session ({code} unreadable Ogg stream)"
        assert (talk.close_code, talk.close_reason) == (4503, reason)
        await _next_client_is_put_through(fe.chat_url(), rogue)


async def test_backend_flooding_a_client_that_reads_is_relayed() -> None:
    """The fast path works: a backend sending as fast as it can reaches a reading client."""
    async with (
        rogue_backend(floods(1000)) as rogue,
        frontend_server(moshi_ws_url=rogue.url) as fe,
        connect(fe.chat_url(), compression=None) as ws,
    ):
        kinds = [(await asyncio.wait_for(ws.recv(), 5))[0] for _ in range(500)]
        assert kinds[0] == 0 and set(kinds[1:]) == {1}
        assert rogue.connections == 1
