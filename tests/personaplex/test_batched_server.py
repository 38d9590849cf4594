"""The batched PersonaPlex server, natively with the tiny model, as clients of upstream's
protocol see it: several conversations on one model at once, each one upstream's
conversation, and where it is kinder than upstream (a bad request refused before the
upgrade, audio sent before the handshake kept). With one slot it behaves as upstream does,
a second connection waiting in silence included: test_backends_agree.py."""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlencode

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from scenario6.facts.slots import SLOTS_HEADER
from scenario6.protocol.messages import KIND_HEADER, Kind
from scenario6.protocol.voices import DEFAULT_PERSONA
from tests.personaplex.conftest import MAX_BACKLOG_S, SLOTS
from tests.personaplex.talk import (
    FRAMES,
    HANDSHAKE_TIMEOUT_S,
    QUERY,
    VOICES,
    answered,
    chat_url,
    conversations,
    frames_out,
    live,
    talk_until_answered,
)
from tests.support.audio import encode_messages, flood, sweep
from tests.support.client import conversation
from tests.support.personaplex import PersonaPlexProcess


async def test_three_conversations_at_once_are_live_together_and_answered_frame_for_frame(
    batched: PersonaPlexProcess,
) -> None:
    async with conversations([chat_url(batched, voice) for voice in VOICES]) as talks:
        # Every one open until the end: none of the handshakes waited for another to leave.
        await live(talks)
        assert [t.kinds[0] for t in talks] == [Kind.HANDSHAKE] * SLOTS
        await asyncio.gather(*(talk_until_answered(t) for t in talks))
        # Room for a frame too many (another's answer, say) to arrive before counting.
        await asyncio.sleep(1)
        assert all(abs(frames_out(t) - FRAMES) <= 2 for t in talks), [frames_out(t) for t in talks]
        assert not any(t.closed.is_set() for t in talks)


async def test_audio_sent_before_the_handshake_keeps_its_stream_header(
    batched: PersonaPlexProcess,
) -> None:
    """Upstream discards it, header pages included, and answers nothing after
    (test_backends_agree.py); this server decodes it in step and answers what follows."""
    messages = encode_messages(sweep(2.0))
    async with conversation(batched.url + QUERY) as talk:
        await talk.ws.send(messages[0])  # OpusHead, OpusTags and the first audio
        assert not talk.handshake.is_set(), "sent during the prompt phase"
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        await answered(talk, messages[1:])
        assert not talk.closed.is_set(), (talk.close_code, talk.close_reason)


@pytest.mark.parametrize("voice", ["NOBODY.pt", "../architecture.json", ""])
async def test_an_unknown_voice_is_refused_with_400_before_the_upgrade(
    batched: PersonaPlexProcess, voice: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(chat_url(batched, voice)):
            pass
    response = refused.value.response
    assert response.status_code == 400
    assert b"voice_prompt" in response.body


@pytest.mark.parametrize(
    ("extra", "named"),
    [({"seed": str(2**64)}, b"seed"), ({"audio_topk": "-1"}, b"top-k"), ({"seed": "x"}, b"")],
)
async def test_parameters_it_cannot_use_are_refused_with_400_and_leave_no_slot_taken(
    batched: PersonaPlexProcess, extra: dict[str, str], named: bytes
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(chat_url(batched) + "&" + urlencode(extra)):
            pass
    assert refused.value.response.status_code == 400
    assert named in refused.value.response.body
    # Every slot is still free: as many conversations as it holds go live at once.
    async with conversations([chat_url(batched, voice) for voice in VOICES]) as talks:
        await live(talks)


async def test_a_top_k_of_zero_means_no_limit_as_upstream_reads_it(
    batched: PersonaPlexProcess,
) -> None:
    url = chat_url(batched) + "&" + urlencode({"audio_topk": "0", "text_topk": "0"})
    async with conversation(url) as talk:
        await talk_until_answered(talk, frames=5)
    assert frames_out(talk) >= 3


async def test_the_upgrade_says_which_backend_this_is_and_how_many_it_holds(
    batched: PersonaPlexProcess,
) -> None:
    async with conversation(batched.url + QUERY) as talk:
        assert talk.ws.response is not None
        headers = talk.ws.response.headers
    assert headers[KIND_HEADER] == "personaplex-batched"
    assert headers[SLOTS_HEADER] == str(SLOTS)


async def test_a_client_that_leaves_mid_conversation_frees_its_slot_for_one_waiting(
    batched: PersonaPlexProcess,
) -> None:
    # One Ogg stream per client: a second would start with header pages again.
    speech = encode_messages(sweep(3.0))
    async with conversations([chat_url(batched, voice) for voice in VOICES]) as talks:
        await live(talks)
        async with conversation(chat_url(batched, "VARF1.pt")) as waiting:
            await asyncio.gather(*(answered(t, speech[:12]) for t in talks))
            assert waiting.kinds == [], "every slot is taken"
            leaving, *staying = talks
            # The others keep talking throughout, and keep being answered.
            others = asyncio.gather(*(answered(t, speech[12:]) for t in staying))
            await leaving.send_audio(speech[12:17])
            await leaving.ws.close()
            await talk_until_answered(waiting, frames=5)
            await others


async def test_leaving_during_anothers_prompt_phase_does_not_disturb_it(
    batched: PersonaPlexProcess,
) -> None:
    async with conversation(chat_url(batched)) as first:
        await first.wait_for(first.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        async with conversation(chat_url(batched, "VARM3.pt")) as joining:
            # One that leaves inside its own prompt phase, and a live one leaving.
            async with conversation(chat_url(batched, "NATM0.pt")):
                pass
            await first.ws.close()
            assert not joining.handshake.is_set(), "both left during its prompt phase"
            await talk_until_answered(joining, frames=10)
            # Both slots they held are free again: the rest of the server's room.
            async with conversations([chat_url(batched)] * (SLOTS - 1)) as others:
                await live(others)


async def test_one_joins_while_the_others_still_have_a_backlog(batched: PersonaPlexProcess) -> None:
    """Clients catching up after a stall keep a frame always due; a joining conversation
    still gets prompt steps between frames, so its handshake does not wait for the backlog."""
    backlog = encode_messages(sweep(20.0))  # 250 frames, sent at once
    async with conversations([chat_url(batched, voice) for voice in VOICES[:2]]) as talks:
        await live(talks)
        for talk in talks:
            for message in backlog:
                await talk.ws.send(message)
        async with conversation(chat_url(batched, VOICES[2])) as joining:
            await joining.wait_for(joining.handshake.is_set, HANDSHAKE_TIMEOUT_S)
            answered_so_far = [frames_out(talk) for talk in talks]
        assert all(count < len(backlog) / 2 for count in answered_so_far), answered_so_far


async def test_a_long_persona_joins_beside_a_backlog_within_a_few_of_their_frames(
    batched: PersonaPlexProcess,
) -> None:
    """Its prompt phase is over a hundred LM steps (the voice prompt, a 148-character persona,
    the silences), and the others' backlog keeps a frame always due: the joining conversation
    still takes many of those steps after each of their frames, so its handshake comes a few
    of their frames later, not one frame per prompt step."""
    backlog = encode_messages(sweep(20.0))  # 250 frames, sent at once
    persona = urlencode({"voice_prompt": VOICES[2], "text_prompt": DEFAULT_PERSONA})
    async with conversations([chat_url(batched, voice) for voice in VOICES[:2]]) as talks:
        await live(talks)
        for talk in talks:
            for message in backlog:
                await talk.ws.send(message)
        first = talks[0]
        await first.wait_for(lambda: frames_out(first) >= 10, 30)  # catching up now
        before = frames_out(first)
        async with conversation(f"{batched.url}?{persona}") as joining:
            await joining.wait_for(joining.handshake.is_set, HANDSHAKE_TIMEOUT_S)
            meanwhile = frames_out(first) - before
        assert meanwhile < len(backlog) - 10, "the backlog lasted until the handshake"
        assert meanwhile <= 40, f"{meanwhile:.0f} of their frames before its handshake"


async def test_a_conversation_sending_faster_than_real_time_is_closed_alone(
    batched: PersonaPlexProcess,
) -> None:
    """600 s of audio sent at once, straight to the backend (no proxy to pace it): once more
    than --max-backlog-s waits for the model, that conversation ends with 1008; the server's
    memory stays bounded and the conversation beside it is still answered."""
    audio = flood(600.0, 16000)
    async with conversations([chat_url(batched, voice) for voice in VOICES[:2]]) as talks:
        flooding, other = talks
        await live(talks)
        before = batched.rss_bytes()
        started = time.monotonic()
        with contextlib.suppress(ConnectionClosed):
            for message in audio:
                await flooding.ws.send(message)
        await flooding.wait_for(flooding.closed.is_set, 60)
        took = time.monotonic() - started
        after = batched.rss_bytes()
        await talk_until_answered(other, frames=10)
        assert not other.closed.is_set()
    print(
        f"flood closed after {took:.2f}s with {flooding.close_code} {flooding.close_reason!r}; "
        f"batched server RSS {before / 2**20:.1f} → {after / 2**20:.1f} MiB"
    )
    assert flooding.close_code == 1008
    assert (
        flooding.close_reason == f"audio backlog over {MAX_BACKLOG_S:g} s: send audio in real time"
    )
    # Queued unbounded, 600 s of decoded audio alone is 55 MiB of samples.
    assert after - before < 40 * 2**20
