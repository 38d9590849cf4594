"""Hostile frames inside a live session: the right close code, and nothing for the backend."""

from __future__ import annotations

import struct

import pytest

from scenario6.protocol import messages
from tests.hostile.conftest import Servers
from tests.hostile.wire import RawClient, frame
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation

QUERY = "/api/chat?voice_prompt=NATF2.pt&text_prompt=x"
BINARY, TEXT, CONTINUATION, PING = 0x2, 0x1, 0x0, 0x9


async def _live(servers: Servers) -> RawClient:
    client, status = await RawClient.open(servers.fe.port, QUERY)
    assert status == 101
    assert await client.reader.readexactly(3) == b"\x82\x01\x00"  # the backend's handshake
    return client


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (frame(TEXT, b"caf\xc3"), 1007),  # truncated UTF-8
        (frame(TEXT, b"\xff\xfe\xfd"), 1007),  # not UTF-8 at all
        (frame(TEXT, b"\xed\xa0\x80"), 1007),  # a UTF-16 surrogate encoded as UTF-8
        (frame(BINARY, b"\x01OggS", mask=False), 1002),  # clients must mask
        (frame(BINARY, b"\x01OggS", rsv=4), 1002),  # compression bit, none negotiated
        (frame(0x3, b"\x01OggS"), 1002),  # reserved opcode
        (frame(PING, b"p" * 126), 1002),  # control frames carry at most 125 bytes
        (frame(CONTINUATION, b"\x01OggS"), 1002),  # continuation of nothing
        (frame(BINARY, b"\x01OggS" + bytes(5000)), 1009),  # over MAX_MESSAGE_BYTES (4096)
        # Fragments, each small, adding up to too much.
        (
            b"".join(
                frame(BINARY if i == 0 else CONTINUATION, bytes(1000), fin=False) for i in range(6)
            ),
            1009,
        ),
        # A header announcing 2**62 bytes: refused without waiting for (or buffering) them.
        (bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 62) + bytes(4), 1009),
    ],
)
async def test_malformed_or_oversize_frames_close_with_the_right_code(
    servers: Servers, bad: bytes, code: int
) -> None:
    client = await _live(servers)
    try:
        client.send(bad)
        reply = await client.until_closed()
    finally:
        await client.aclose()
    assert reply.close_code == code
    [record] = servers.lb.backend.sessions
    assert (record.audio_messages, record.other_messages) == (0, 0), "junk reached the backend"


@pytest.mark.parametrize(
    "junk",
    [
        b"\x01",  # audio kind with no payload
        b"\x01not an ogg page",
        b"\x01OggT" + bytes(40),
        b"\x00",  # a client has no business sending the handshake
        b"\x02text from the client",
        b"\x03",
        b"\xff" * 100,
    ],
)
async def test_junk_messages_are_dropped_and_the_session_goes_on(
    servers: Servers, junk: bytes
) -> None:
    async with conversation(servers.fe.chat_url()) as talk:
        await talk.wait_for(talk.handshake.is_set)
        await talk.ws.send(junk)
        audio = encode_messages(sweep(0.4))
        await talk.send_audio(audio, cadence_s=0.01)
        [record] = servers.lb.backend.sessions
        await talk.wait_for(lambda: record.audio_messages == len(audio))
        assert not talk.closed.is_set()
        assert record.other_messages == 0 and record.ogg_errors == 0


async def test_audio_sent_while_queued_never_reaches_the_backend(servers: Servers) -> None:
    async with conversation(servers.fe.chat_url()) as first:
        await first.wait_for(first.handshake.is_set)
        async with conversation(servers.fe.chat_url(events="1")) as queued:
            await queued.wait_for(lambda: queued.events_of("queued"))
            header, *audio = encode_messages(sweep(0.4))
            for message in (header, *audio):
                await queued.ws.send(message)
            await first.ws.close()
            await queued.wait_for(queued.handshake.is_set)
            [_, second] = servers.lb.backend.sessions
            # The order holds end to end: whatever of the queued messages the backend gets
            # arrives before one sent now. Only the stream's header (held for it) may. The
            # marker is a whole page with a wrong CRC: the proxy counts its length (none) and
            # passes it on, the backend cannot parse it, so it is counted apart.
            await queued.ws.send(messages.audio(b"OggS" + bytes(23)))
            await queued.wait_for(lambda: second.ogg_errors == 1)
            assert second.audio_messages == 2, "the header and the marker, nothing queued"
