"""A conversation through the proxy, with real servers, real sockets and real Opus."""

from __future__ import annotations

import asyncio

from scenario6.backend.loopback import LoopbackSettings
from scenario6.frontend.proxy import closes
from tests.support.audio import best_correlation, encode_messages, sweep
from tests.support.client import conversation
from tests.support.servers import frontend_server, loopback_server


async def test_conversation_round_trip() -> None:
    """Handshake, echoed audio that matches what was sent, and the text stream."""
    async with (
        loopback_server(LoopbackSettings(prompt_ms=300, delay_ms=0, text_interval_ms=200)) as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url()) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set)
        assert talk.kinds[0] == 0, "the handshake must be the first message"
        signal = sweep(2.0)
        await talk.send_audio(encode_messages(signal))
        await talk.wait_for(lambda: len(talk.decoder.pcm) >= len(signal) - 4000)
        correlation, lag = best_correlation(signal, talk.decoder.pcm)
        assert correlation > 0.9, (correlation, lag)
        assert 0 <= lag < 24000 // 2, lag
        await talk.wait_for(lambda: len(talk.text) >= 3)
        assert "".join(talk.text).startswith(" [loopback backend]")
        [record] = lb.backend.sessions
        assert record.ogg_errors == 0
        assert record.other_messages == 0


async def test_events_are_opt_in() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
    ):
        async with conversation(fe.chat_url()) as plain:
            await plain.wait_for(plain.handshake.is_set)
        async with conversation(fe.chat_url(events="1")) as opted:
            await opted.wait_for(opted.handshake.is_set)
        assert plain.events == []
        [backend] = opted.events_of("backend")
        assert backend == {"type": "backend", "url": lb.url, "kind": "loopback"}


async def test_second_client_queues_and_never_disturbs_the_first() -> None:
    """One backend: the second client waits in the proxy; the first keeps its own prompts."""
    settings = LoopbackSettings(prompt_ms=100, delay_ms=0, text_interval_ms=50)
    async with (
        loopback_server(settings) as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url("NATF2.pt", "First persona")) as first,
    ):
        await first.wait_for(first.handshake.is_set)
        async with conversation(fe.chat_url("VARM3.pt", "Second persona", events="1")) as second:
            await second.wait_for(lambda: second.events_of("queued"))
            assert second.events_of("queued")[0]["position"] == 1
            # The first conversation goes on meanwhile (text, like audio, answers audio).
            await first.send_audio(encode_messages(sweep(1.0)), cadence_s=0.04)
            await first.wait_for(lambda: "NATF2" in "".join(first.text))
            assert not second.handshake.is_set()
            assert len(list(lb.backend.sessions)) == 1
            first_words = "".join(first.text)
            assert "NATF2" in first_words and "VARM3" not in first_words
            await first.ws.close()
            await second.wait_for(second.handshake.is_set)
            assert second.events_of("backend")
        voices = [record.query["voice_prompt"] for record in lb.backend.sessions]
        assert voices == ["NATF2.pt", "VARM3.pt"]


async def test_queue_positions_move_up() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        conversation(fe.chat_url()) as first,
    ):
        await first.wait_for(first.handshake.is_set)
        async with (
            conversation(fe.chat_url(events="1")) as second,
            conversation(fe.chat_url(events="1")) as third,
        ):
            await third.wait_for(lambda: third.events_of("queued"))
            await second.wait_for(lambda: second.events_of("queued"))
            assert third.events_of("queued")[-1]["position"] == 2
            await second.ws.close()
            await third.wait_for(lambda: third.events_of("queued")[-1]["position"] == 1)


async def test_a_client_left_waiting_too_long_is_told_so_by_its_own_code() -> None:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url, queue_timeout_s=1) as fe,
        conversation(fe.chat_url()) as first,
    ):
        await first.wait_for(first.handshake.is_set)
        async with conversation(fe.chat_url(events="1")) as second:
            await second.wait_for(second.closed.is_set)
        assert second.events_of("queued")
        assert second.close_code == closes.QUEUE_TIMEOUT != closes.TOO_MANY_SESSIONS
        assert second.close_reason == "queue timeout: no backend free in 1s"
        assert second.events_of("error") == [
            {"type": "error", "code": closes.QUEUE_TIMEOUT, "reason": second.close_reason}
        ]
        assert not first.closed.is_set()


async def test_pool_serves_two_clients_on_two_backends() -> None:
    async with (
        loopback_server() as a,
        loopback_server() as b,
        frontend_server(moshi_ws_url=f"{a.url},{b.url}") as fe,
        conversation(fe.chat_url(events="1")) as one,
        conversation(fe.chat_url(events="1")) as two,
    ):
        await one.wait_for(one.handshake.is_set)
        await two.wait_for(two.handshake.is_set)
        urls = {one.events_of("backend")[0]["url"], two.events_of("backend")[0]["url"]}
        assert urls == {a.url, b.url}
        assert one.events_of("queued") == two.events_of("queued") == []


async def test_config_learns_the_backend_kind() -> None:
    import httpx

    async with loopback_server() as lb, frontend_server(moshi_ws_url=lb.url) as fe:
        async with httpx.AsyncClient(base_url=fe.http) as http:
            before = (await http.get("/api/config")).json()
            async with conversation(fe.chat_url()) as talk:
                await talk.wait_for(talk.handshake.is_set)
            after = (await http.get("/api/config")).json()
        assert before["backends"][0]["kind"] is None and before["loopback"] is None
        assert after["backends"][0]["kind"] == "loopback" and after["loopback"] is True


async def test_clients_leaving_while_their_session_opens_leave_nothing_open() -> None:
    async with (
        loopback_server(LoopbackSettings(prompt_ms=300)) as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
    ):
        for _ in range(5):
            async with conversation(fe.chat_url(events="1")):
                pass  # gone at once: while queued, connecting, or warming up

        async def all_closed() -> None:
            while any(record.active for record in lb.backend.sessions):  # noqa: ASYNC110
                await asyncio.sleep(0.05)

        await asyncio.wait_for(all_closed(), 10)
        async with conversation(fe.chat_url()) as talk:
            await talk.wait_for(talk.handshake.is_set)
