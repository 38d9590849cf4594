"""Bad or hostile clients get a clear refusal, and nothing invalid reaches a backend."""

from __future__ import annotations

import contextlib

import pytest

from scenario6.backend.loopback import LoopbackSettings
from scenario6.protocol.voices import DEFAULT_PERSONA
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.servers import free_port, frontend_server, loopback_server
from tests.support.waiting import until


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"voice_prompt": "../../etc/passwd", "text_prompt": "x"}, "unknown voice"),
        ({"voice_prompt": "..%2F..%2Fetc%2Fpasswd", "text_prompt": "x"}, "unknown voice"),
        ({"voice_prompt": "/etc/passwd", "text_prompt": "x"}, "unknown voice"),
        ({"voice_prompt": "NATF9.pt", "text_prompt": "x"}, "unknown voice"),
        ({"text_prompt": "x"}, "voice_prompt is required"),
        ({"voice_prompt": "NATF2.pt", "text_prompt": "y" * 5000}, "the limit is 1000"),
        ({"voice_prompt": "NATF2.pt", "text_prompt": "a\x00b"}, "NUL"),
    ],
)
async def test_bad_session_requests_are_refused(query: dict[str, str], reason: str) -> None:
    async with loopback_server() as lb, frontend_server(moshi_ws_url=lb.url) as fe:
        from urllib.parse import urlencode

        url = f"ws://127.0.0.1:{fe.port}/api/chat?{urlencode(query)}&events=1"
        async with conversation(url) as talk:
            await talk.wait_for(talk.closed.is_set)
        assert talk.close_code == 4400
        assert reason in (talk.close_reason or "")
        assert talk.events_of("error")[0]["code"] == 4400
        assert list(lb.backend.sessions) == [], "an invalid request reached the backend"


async def test_empty_persona_becomes_the_default() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url("NATF2", "   ")) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        [record] = lb.backend.sessions
        assert record.query == {"voice_prompt": "NATF2.pt", "text_prompt": DEFAULT_PERSONA}


async def test_seed_and_unknown_parameters_are_never_forwarded() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url(seed="1", cpu_offload="1", events="1")) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        [record] = lb.backend.sessions
        assert set(record.query) == {"voice_prompt", "text_prompt"}
        assert "cpu_offload, seed" in str(talk.events_of("warning")[0]["message"])


async def test_non_audio_frames_are_dropped_and_the_session_goes_on() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        for junk in (b"\x02hello", b"\x00", b"\x07\x01\x02", b"", "a text frame"):
            await talk.ws.send(junk)
        audio = encode_messages(sweep(0.8))
        await talk.send_audio(audio, cadence_s=0.02)
        await talk.wait_for(lambda: len(talk.decoder.pcm) > 0)
        assert not talk.closed.is_set()
        [record] = lb.backend.sessions
        assert record.other_messages == 0, "a non-audio frame reached the backend"
        assert record.audio_messages == len(audio)


async def test_oversize_frame_closes_with_1009() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url, max_message_bytes=4096) as fe,
        conversation(fe.chat_url(events="1")) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        await talk.ws.send(b"\x01OggS" + b"\x00" * 7995)
        await talk.wait_for(talk.closed.is_set)
        assert talk.close_code == 1009
        assert "8000 bytes exceeds limit of 4096 bytes" in (talk.close_reason or "")
        [record] = lb.backend.sessions
        # Once the backend's session has ended, nothing more can reach it.
        await until(lambda: not record.active, "the backend session to end")
        assert record.audio_messages == 0 and record.other_messages == 0


async def test_flood_closes_with_1008() -> None:
    async with (
        loopback_server() as lb,
        # Many short messages: the audio they hold stays within the audio allowance.
        frontend_server(moshi_ws_url=lb.url, max_messages_per_second=50, audio_burst_s=120) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        [message] = encode_messages(sweep(0.08))
        for _ in range(1000):
            if talk.closed.is_set():
                break
            await talk.ws.send(message)
        await talk.wait_for(talk.closed.is_set)
        assert talk.close_code == 1008
        assert talk.close_reason == "too many messages"


async def test_cross_origin_upgrade_is_refused() -> None:
    async with loopback_server() as lb, frontend_server(moshi_ws_url=lb.url) as fe:
        async with conversation(fe.chat_url(), origin="https://evil.example") as refused:
            await refused.wait_for(refused.closed.is_set)
        assert refused.close_code == 4403
        same_site = f"http://127.0.0.1:{fe.port}"
        async with conversation(fe.chat_url(), origin=same_site) as talk:
            await talk.wait_for(talk.handshake.is_set)
        assert len(list(lb.backend.sessions)) == 1


async def test_allowed_origins_setting_admits_another_site() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url, allowed_origins="https://app.example") as fe,
        conversation(fe.chat_url(), origin="https://app.example") as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)


async def test_silent_client_is_closed_as_idle() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url, idle_timeout_s=0.5) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.closed.is_set)
        assert talk.handshake.is_set()
        assert talk.close_code == 4408
        assert "idle" in (talk.close_reason or "")
        [record] = lb.backend.sessions
        await until(lambda: not record.active, "the backend session to end")


async def test_backend_down_closes_with_4502() -> None:
    down = f"ws://127.0.0.1:{free_port()}"
    async with (
        frontend_server(moshi_ws_url=down) as fe,
        conversation(fe.chat_url(events="1")) as talk,
    ):
        await talk.wait_for(talk.closed.is_set)
    assert talk.close_code == 4502
    assert "backend unreachable" in (talk.close_reason or "")
    assert talk.events_of("error") == [{"type": "error", "code": 4502, "reason": talk.close_reason}]


async def test_backend_that_never_handshakes_times_out_and_frees_the_slot() -> None:
    async with (
        loopback_server(LoopbackSettings(prompt_ms=60_000)) as lb,
        frontend_server(moshi_ws_url=lb.url, handshake_timeout_s=0.5) as fe,
    ):
        async with conversation(fe.chat_url()) as talk:
            await talk.wait_for(talk.closed.is_set)
        assert talk.close_code == 4504
        assert "handshake timeout" in (talk.close_reason or "")
        # The slot is not stuck: the next client is put through to the backend.
        async with conversation(fe.chat_url(events="1")) as next_client:
            await next_client.wait_for(lambda: next_client.events_of("backend"))


async def test_backend_dying_mid_session_closes_the_client_with_4503() -> None:
    async with contextlib.AsyncExitStack() as stack:
        lb = await stack.enter_async_context(loopback_server())
        fe = await stack.enter_async_context(frontend_server(moshi_ws_url=lb.url))
        talk = await stack.enter_async_context(conversation(fe.chat_url(events="1")))
        await talk.wait_for(talk.handshake.is_set)
        await lb.stop()
        await talk.wait_for(talk.closed.is_set, timeout=5)
        assert talk.close_code == 4503
        assert "backend closed the session" in (talk.close_reason or "")
        assert talk.events_of("error")[0]["code"] == 4503
