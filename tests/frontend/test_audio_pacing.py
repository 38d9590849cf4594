"""Client audio is paced to real time by its own length: a catch-up passes, a client slightly
ahead is slowed down, not closed. (A flood is closed: tests/hostile/test_audio_flood.py.)"""

from __future__ import annotations

import asyncio
import time

from scenario6.backend.loopback import LoopbackSettings
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.servers import frontend_server, loopback_server
from tests.support.waiting import until

QUICK = LoopbackSettings(prompt_ms=100, delay_ms=0)


async def test_a_client_that_stalls_then_catches_up_is_not_closed() -> None:
    messages = encode_messages(sweep(5.0))  # 62 messages of 80 ms
    async with (
        loopback_server(QUICK) as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        await talk.send_audio(messages[:12])  # about 1 s in real time
        await asyncio.sleep(2.0)  # the network stalls; then the last 2 s go at once
        for message in messages[12:37]:
            await talk.ws.send(message)
        await talk.send_audio(messages[37:])  # and real time again
        [record] = lb.backend.sessions
        await until(lambda: record.audio_messages == len(messages), "every message to arrive")
        assert not talk.closed.is_set()


async def test_audio_slightly_ahead_is_held_back_and_passed_on_in_real_time() -> None:
    """1.84 s at once against a 1 s allowance: 0.84 s is held, then passed on, nothing lost."""
    messages = encode_messages(sweep(1.84))
    async with (
        loopback_server(QUICK) as lb,
        frontend_server(moshi_ws_url=lb.url, audio_burst_s=1.0) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        started = time.monotonic()
        for message in messages:
            await talk.ws.send(message)
        [record] = lb.backend.sessions
        await until(lambda: record.audio_messages == len(messages), "every message to arrive")
        took = time.monotonic() - started
        print(f"{len(messages)} messages sent at once reached the backend over {took:.2f}s")
        assert not talk.closed.is_set()
        assert took > 0.6, "audio ahead of the allowance went on at once"
