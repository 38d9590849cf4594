"""The batched server's operations, natively with the tiny model: its Prometheus metrics, and
its drain on SIGTERM (live conversations go on, new ones get 503, then it exits 0)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from scenario6.bench.harness import free_port
from tests.personaplex.talk import (
    VOICES,
    answered,
    chat_url,
    conversations,
    frames_out,
    live,
    talk_until_answered,
)
from tests.support.audio import encode_messages, sweep
from tests.support.personaplex import (
    BATCHED,
    PersonaPlexProcess,
    TinyPersonaPlex,
    personaplex_server,
)
from tests.support.scrape import scrape, value

# Generous bounds that only catch hangs.
SIGNAL_SEEN_S = 30
EXIT_S = 60


def batched_server(
    tiny: TinyPersonaPlex, *arguments: str
) -> contextlib.AbstractContextManager[PersonaPlexProcess]:
    """A batched server of its own: these tests stop it."""
    return personaplex_server(tiny, arguments=["--slots", "3", *arguments], module=BATCHED)


async def draining(server: PersonaPlexProcess) -> None:
    """Until the server has taken the signal (its log says so)."""
    deadline = time.monotonic() + SIGNAL_SEEN_S
    while "draining" not in server.output():
        assert time.monotonic() < deadline, server.output()[-2000:]
        await asyncio.sleep(0.1)


async def exit_code(server: PersonaPlexProcess) -> int:
    return await asyncio.to_thread(server.popen.wait, EXIT_S)


async def test_two_live_conversations_are_counted_in_its_metrics(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    port = free_port()
    with batched_server(tiny_personaplex, "--metrics-port", str(port)) as server:
        async with conversations([chat_url(server, voice) for voice in VOICES[:2]]) as talks:
            await asyncio.gather(*(talk_until_answered(t, frames=10) for t in talks))
            answered_frames = max(frames_out(t) for t in talks)  # each after its tick
            found = await scrape(port)
    assert value(found, "scenario6_backend_slots", state="used") == 2
    assert value(found, "scenario6_backend_slots", state="free") == 1
    # Each answered frame was a batched step, which both conversations may have shared.
    assert value(found, "scenario6_backend_tick_seconds_count") >= answered_frames >= 8
    assert value(found, "scenario6_backend_prompt_seconds_count") == 2
    print(
        f"{value(found, 'scenario6_backend_tick_seconds_count'):.0f} ticks, "
        f"{value(found, 'scenario6_backend_tick_seconds_sum'):.3f} s in all; "
        f"{value(found, 'scenario6_backend_frames_late_total'):.0f} frames late"
    )


async def test_sigterm_lets_a_live_conversation_finish_refuses_new_ones_then_exits_0(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    speech = encode_messages(sweep(2.0))  # one Ogg stream for the whole conversation
    with batched_server(tiny_personaplex) as server:
        async with conversations([chat_url(server)]) as (talk,):
            await live([talk])
            await answered(talk, speech[:5])
            server.popen.send_signal(signal.SIGTERM)
            await draining(server)
            # A new upgrade is refused before it opens: the frontend's pool tries another.
            with pytest.raises(InvalidStatus) as refused:
                async with connect(chat_url(server, VOICES[1])):
                    pass
            assert refused.value.response.status_code == 503
            # The live one is still answered, frame for frame.
            await answered(talk, speech[5:])
            assert not talk.closed.is_set()
            assert server.popen.poll() is None
        # It ended as the client chose (1000), and the server, with none left, exits 0.
        assert talk.close_code == 1000
        assert await exit_code(server) == 0


async def test_a_conversation_still_live_when_the_drain_times_out_is_closed_with_1001(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    with batched_server(tiny_personaplex, "--drain-timeout-s", "1") as server:
        async with conversations([chat_url(server)]) as (talk,):
            await live([talk])
            server.popen.send_signal(signal.SIGTERM)
            await talk.wait_for(talk.closed.is_set, EXIT_S)
        assert (talk.close_code, talk.close_reason) == (1001, "server shutting down")
        assert await exit_code(server) == 0


async def test_a_conversation_waiting_for_a_slot_is_sent_away_rather_than_begun(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    """With every slot taken, a conversation waits for one; if the drain begins meanwhile it
    is closed with 1001 at once (its client reconnects elsewhere) instead of taking the slot
    the live one frees."""
    speech = encode_messages(sweep(2.0))
    with batched_server(tiny_personaplex, "--slots", "1") as server:
        async with conversations([chat_url(server)]) as (talk,):
            await live([talk])
            async with conversations([chat_url(server, VOICES[1])]) as (waiting,):
                server.popen.send_signal(signal.SIGTERM)
                await waiting.wait_for(waiting.closed.is_set, SIGNAL_SEEN_S)
                assert (waiting.close_code, waiting.close_reason) == (1001, "server shutting down")
                assert not waiting.handshake.is_set()
                await answered(talk, speech[:5])  # the live one goes on
        assert await exit_code(server) == 0
