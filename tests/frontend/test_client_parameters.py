"""What the proxy passes on from a client beyond the prompts: sampling parameters and the
code the client closed with. Real frontend, real loopback or protocol-level backends."""

from __future__ import annotations

import asyncio
import contextlib
import struct

import pytest
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from scenario6.backend.loopback import LoopbackSettings
from scenario6.protocol.ogg import crc32
from tests.support.client import conversation
from tests.support.rogue import RogueBackend, rogue_backend
from tests.support.servers import frontend_server, loopback_server

# What the official PersonaPlex web client sends with every session.
OFFICIAL = {
    "text_temperature": "0.7",
    "text_topk": "25",
    "audio_temperature": "0.8",
    "audio_topk": "250",
    "pad_mult": "0",
    "text_seed": "776919",
    "audio_seed": "278161",
    "repetition_penalty_context": "64",
    "repetition_penalty": "1",
}


async def test_the_official_clients_sampling_parameters_are_forwarded() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url(events="1", **OFFICIAL)) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        [record] = lb.backend.sessions
    assert talk.events_of("warning") == []
    forwarded = {k: float(v) for k, v in record.query.items() if k in OFFICIAL}
    assert forwarded == {k: float(v) for k, v in OFFICIAL.items()}
    assert "seed" not in record.query


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("text_temperature", "nan"),
        ("audio_temperature", "inf"),
        ("text_temperature", "-1"),
        ("text_topk", "2.5"),
        ("audio_topk", "lots"),
        ("text_seed", "99999999999999999999"),
        ("repetition_penalty", "1e400"),
        ("pad_mult", ""),
    ],
)
async def test_a_malformed_sampling_parameter_is_dropped_and_reported(
    name: str, value: str
) -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url(events="1", **{**OFFICIAL, name: value})) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        [record] = lb.backend.sessions
    assert name not in record.query
    assert set(OFFICIAL) - {name} <= set(record.query), "the valid ones still pass"
    [warning] = talk.events_of("warning")
    assert name in str(warning["message"])


@pytest.mark.parametrize(
    ("client_code", "backend_sees"), [(4000, 4000), (1001, 1001), (None, 1000)]
)
async def test_the_backend_is_closed_with_the_clients_own_code(
    client_code: int | None, backend_sees: int
) -> None:
    seen: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    async def closed_by_client(ws: ServerConnection, rogue: RogueBackend) -> None:
        await ws.send(b"\x00")
        await ws.wait_closed()
        seen.set_result(ws.close_code)

    async with (
        rogue_backend(closed_by_client) as rogue,
        frontend_server(moshi_ws_url=rogue.url) as fe,
    ):
        async with conversation(fe.chat_url()) as talk:
            await talk.wait_for(talk.handshake.is_set)
            if client_code is None:  # an empty close frame, as a browser's close() sends
                async with talk.ws.send_context():
                    talk.ws.protocol.send_close()
                await talk.ws.wait_closed()
                assert talk.ws.close_code == 1000  # as PersonaPlex's own server answers
            else:
                await talk.ws.close(client_code)
        assert await asyncio.wait_for(seen, 10) == backend_sees


def _tags_page(sequence: int, comment: bytes) -> bytes:
    """An Ogg page holding one OpusTags packet (RFC 7845 §5.2), with a valid CRC."""
    vendor = b"scenario6-test"
    packet = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor
    packet += struct.pack("<II", 1, len(comment)) + comment
    lacing = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, 0, 0, 7, sequence, 0, len(lacing))
    page = bytearray(header + lacing + packet)
    page[22:26] = struct.pack("<I", crc32(bytes(page)))
    return bytes(page)


async def test_a_stream_header_past_the_limit_before_the_handshake_is_refused() -> None:
    """Held header pages are bounded: a client cannot make the proxy keep what it sends."""
    async with (
        loopback_server(LoopbackSettings(prompt_ms=5000)) as lb,
        frontend_server(moshi_ws_url=lb.url, max_message_bytes=1024) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        for sequence in range(1, 20):
            with contextlib.suppress(ConnectionClosed):
                await talk.ws.send(b"\x01" + _tags_page(sequence, b"x" * 200))
        await talk.wait_for(talk.closed.is_set)
    assert talk.close_code == 1008
    assert "stream header too large" in (talk.close_reason or "")
    assert not talk.handshake.is_set()
