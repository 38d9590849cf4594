"""Red team: audio sent faster than it plays. The proxy counts the Opus packets' own length,
so neither a flood nor audio disguised as something shorter reaches the backend."""

from __future__ import annotations

import contextlib
import time

from websockets.exceptions import ConnectionClosed

from scenario6.bench.harness import HOST
from scenario6.protocol import messages
from scenario6.protocol.messages import SAMPLE_RATE
from scenario6.protocol.ogg import parse_pages
from tests.hostile.conftest import Servers
from tests.support.audio import encode_messages, flood, ogg_page, sweep
from tests.support.client import conversation
from tests.support.servers import frontend_process, loopback_process
from tests.support.waiting import until

MIB = 1 << 20


async def test_600_seconds_sent_at_once_are_closed_with_4413_and_memory_stays_bounded() -> None:
    # Messages of 16 kB: over the message rate limit's burst it would take ten times more.
    audio = flood(600.0, 16000)
    with (
        loopback_process() as (backend, backend_port),
        frontend_process({"MOSHI_WS_URL": f"ws://{HOST}:{backend_port}"}) as (frontend, port),
    ):
        before = frontend.rss_bytes(), backend.rss_bytes()
        url = f"ws://{HOST}:{port}/api/chat?voice_prompt=NATF2.pt&text_prompt=x"
        async with conversation(url) as talk:
            await talk.wait_for(talk.handshake.is_set)
            started = time.monotonic()
            with contextlib.suppress(ConnectionClosed):
                for message in audio:
                    await talk.ws.send(message)
            await talk.wait_for(talk.closed.is_set, timeout=30)
            took = time.monotonic() - started
        after = frontend.rss_bytes(), backend.rss_bytes()
    print(
        f"600 s of audio in {len(audio)} messages: closed {took:.3f}s after the first with "
        f"{talk.close_code} {talk.close_reason!r}; RSS frontend {before[0] / MIB:.1f} → "
        f"{after[0] / MIB:.1f} MiB, loopback {before[1] / MIB:.1f} → {after[1] / MIB:.1f} MiB"
    )
    assert talk.close_code == 4413
    assert (talk.close_reason or "").startswith("audio faster than real time")
    assert took < 10  # only against a hang: it takes milliseconds
    # Unpaced, the loopback alone grew by 70 MiB within seconds.
    assert max(a - b for a, b in zip(after, before, strict=True)) < 40 * MIB


async def test_audio_whose_length_cannot_be_counted_never_reaches_the_backend(
    servers: Servers,
) -> None:
    """Packets a decoder refuses, bytes after the pages, a page cut short: all dropped."""
    header, first, *_ = encode_messages(sweep(0.24))
    sneaky = [
        messages.audio(ogg_page([bytes([19 << 3 | 3, 0])])),  # code 3 with zero frames
        messages.audio(ogg_page([b""])),  # an empty packet (a decoder conceals 20 ms or more)
        first + b"OggS" + bytes(40),  # a second page, not whole
        first[:-5],  # a page cut short
    ]
    async with conversation(servers.fe.chat_url()) as talk:
        await talk.wait_for(talk.handshake.is_set)
        for message in (header, *sneaky, first):
            await talk.ws.send(message)
        [record] = servers.lb.backend.sessions
        await until(lambda: record.audio_messages >= 2, "the real audio to arrive")
        assert record.audio_messages == 2, "a message whose length was not counted went on"
        assert not talk.closed.is_set()


async def test_pages_flagged_as_continuing_a_packet_are_counted_as_the_decoder_reads_them(
    servers: Servers,
) -> None:
    """With no packet open, a decoder reads a "continued" page's first packet as new audio:
    flagging every page so must not hide a flood from the pacing."""
    flagged = [
        messages.audio(
            b"".join(
                ogg_page(list(page.packets), page.serial, page.sequence, flags=page.flags | 0x01)
                if page.sequence > 1  # after OpusHead and OpusTags
                else ogg_page(list(page.packets), page.serial, page.sequence, flags=page.flags)
                for page in parse_pages(message[1:])
            )
        )
        for message in encode_messages(sweep(30.0))
    ]
    async with conversation(servers.fe.chat_url()) as talk:
        await talk.wait_for(talk.handshake.is_set)
        with contextlib.suppress(ConnectionClosed):
            for message in flagged:
                await talk.ws.send(message)
        await talk.wait_for(talk.closed.is_set, timeout=30)
        [record] = servers.lb.backend.sessions
    decoded_s = record.input_samples / SAMPLE_RATE
    print(f"30 s in flagged pages: {decoded_s:.2f} s decoded, closed {talk.close_code}")
    assert talk.close_code == 4413, "a flood in flagged pages went on unpaced"
    assert decoded_s < 10  # the burst allowance and as much held, not the 30 s sent
