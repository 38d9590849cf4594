"""The loopback backend behaves like upstream where clients can tell."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from scenario6.backend.loopback import LoopbackSettings
from tests.support.audio import flood
from tests.support.client import conversation
from tests.support.servers import loopback_server


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?text_prompt=hi",
        "?voice_prompt=NATF2.pt",
        "?voice_prompt=../x.pt&text_prompt=hi",
        "?voice_prompt=NATF2.pt&text_prompt=%20",
        "?voice_prompt=NATF2.pt&text_prompt=hi&seed=1",  # upstream's handler crashes on it
    ],
)
async def test_missing_or_invalid_prompts_get_http_400(query: str) -> None:
    async with loopback_server() as lb:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{lb.url}{query}"):
                pass
        assert refused.value.response.status_code == 400


async def test_one_conversation_at_a_time_and_health_says_loopback() -> None:
    url_query = "?voice_prompt=NATF2.pt&text_prompt=hi"
    async with (
        loopback_server(LoopbackSettings(prompt_ms=50)) as lb,
        httpx.AsyncClient() as http,
        conversation(lb.url + url_query) as first,
    ):
        await first.wait_for(first.handshake.is_set)
        assert first.ws.response is not None
        assert first.ws.response.headers["X-Scenario6-Backend"] == "loopback"
        health = (await http.get(f"http://127.0.0.1:{lb.port}/health")).json()
        assert health == {"status": "ok", "backend": "loopback", "busy": True}
        async with conversation(lb.url + url_query) as second:
            # Upstream serves one session at a time: no handshake for the second (free, it
            # would come after the 50 ms prompt) while the first goes on.
            with pytest.raises(asyncio.TimeoutError):
                await second.wait_for(second.handshake.is_set, timeout=0.3)
            await first.ws.close()
            await second.wait_for(second.handshake.is_set)


async def test_with_slots_it_holds_that_many_and_says_so() -> None:
    url_query = "?voice_prompt=NATF2.pt&text_prompt=hi"
    health = "http://127.0.0.1:{}/health"
    async with (
        loopback_server(LoopbackSettings(prompt_ms=50, slots=2)) as lb,
        httpx.AsyncClient() as http,
        conversation(lb.url + url_query) as first,
    ):
        await first.wait_for(first.handshake.is_set)
        assert first.ws.response is not None
        headers = first.ws.response.headers
        assert (headers["X-Scenario6-Backend"], headers["X-Scenario6-Slots"]) == ("loopback", "2")
        assert (await http.get(health.format(lb.port))).json()["busy"] is False
        async with conversation(lb.url + url_query) as second:
            await second.wait_for(second.handshake.is_set)
            assert not first.closed.is_set()
            assert (await http.get(health.format(lb.port))).json()["busy"] is True


async def test_sessions_are_recorded_with_their_audio() -> None:
    from tests.support.audio import encode_messages, sweep

    async with (
        loopback_server(LoopbackSettings(prompt_ms=0)) as lb,
        httpx.AsyncClient() as http,
    ):
        async with conversation(lb.url + "?voice_prompt=VARF1.pt&text_prompt=hi") as talk:
            await talk.wait_for(talk.handshake.is_set)
            await talk.send_audio(encode_messages(sweep(0.8)), cadence_s=0)
            await talk.wait_for(lambda: len(talk.decoder.pcm) > 0)
        base = f"http://127.0.0.1:{lb.port}/api/sessions"
        [summary] = (await http.get(base)).json()
        assert summary["voice_prompt"] == "VARF1.pt"
        assert summary["messages"]["audio"] == 10 and summary["ogg_errors"] == 0
        wav = await http.get(f"{base}/{summary['id']}/input.wav")
        assert wav.headers["content-type"] == "audio/wav"
        assert len(wav.content) == 44 + 2 * summary["input_samples"]


async def test_a_client_far_ahead_of_real_time_is_closed_with_1008() -> None:
    """Straight to the backend, no proxy to pace it: what waits to be echoed is bounded."""
    settings = LoopbackSettings(prompt_ms=0, max_backlog_s=5)
    async with (
        loopback_server(settings) as lb,
        conversation(lb.url + "?voice_prompt=NATF2.pt&text_prompt=hi") as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        with contextlib.suppress(ConnectionClosed):
            for message in flood(600.0, 16000):
                await talk.ws.send(message)
        await talk.wait_for(talk.closed.is_set)
        assert talk.close_code == 1008
        assert talk.close_reason == "audio backlog over 5 s: send audio in real time"
        [record] = lb.backend.sessions
        assert record.input_samples < 60 * 24000, "it read on long after the limit"
