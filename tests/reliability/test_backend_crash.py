"""A backend process killed mid-session: the client hears why, and the pool recovers."""

from __future__ import annotations

import contextlib
import signal
import time

from tests.support.client import conversation
from tests.support.servers import frontend_server, loopback_process

FAST = ("--prompt-ms", "100", "--delay-ms", "0")


async def test_killed_backend_closes_the_client_with_4503_and_comes_back() -> None:
    with loopback_process(None, *FAST) as (backend, port):
        async with frontend_server(moshi_ws_url=f"ws://127.0.0.1:{port}") as fe:
            async with conversation(fe.chat_url(events="1")) as talk:
                await talk.wait_for(talk.handshake.is_set)
                killed = time.monotonic()
                backend.stop(signal.SIGKILL)
                await talk.wait_for(talk.closed.is_set, timeout=10)
                noticed = time.monotonic() - killed
            print(f"client told of the killed backend after {noticed * 1000:.0f} ms")
            assert noticed < 2, "the proxy took too long to notice a dead backend"
            assert talk.close_code == 4503
            assert "backend closed the session" in (talk.close_reason or "")
            assert talk.events_of("error")[-1]["code"] == 4503
            # The slot is free (a held one would queue this client): while the backend is
            # down a new client is told so, quickly and clearly.
            async with conversation(fe.chat_url()) as refused:
                await refused.wait_for(refused.closed.is_set)
            assert refused.close_code == 4502

            # The backend comes back on the same port: sessions work again.
            with loopback_process(port, *FAST):
                async with conversation(fe.chat_url()) as again:
                    await again.wait_for(again.handshake.is_set)


async def test_queued_client_is_served_by_the_other_backend_when_one_dies() -> None:
    with contextlib.ExitStack() as stack:
        doomed, doomed_port = stack.enter_context(loopback_process(None, *FAST))
        _, other_port = stack.enter_context(loopback_process(None, *FAST))
        urls = [f"ws://127.0.0.1:{p}/api/chat" for p in (doomed_port, other_port)]
        async with (
            frontend_server(moshi_ws_url=",".join(urls)) as fe,
            conversation(fe.chat_url(events="1")) as first,
            conversation(fe.chat_url(events="1")) as second,
        ):
            await first.wait_for(first.handshake.is_set)
            await second.wait_for(second.handshake.is_set)
            on_doomed = first if first.events_of("backend")[0]["url"] == urls[0] else second
            survivor = second if on_doomed is first else first
            async with conversation(fe.chat_url(events="1")) as queued:
                await queued.wait_for(lambda: queued.events_of("queued"))
                doomed.stop(signal.SIGKILL)
                await on_doomed.wait_for(on_doomed.closed.is_set)
                assert on_doomed.close_code == 4503
                # The dead backend's slot is tried and found unreachable; the queued client
                # must then keep waiting for the live one rather than be turned away.
                await survivor.ws.close()
                await queued.wait_for(queued.handshake.is_set)
                assert queued.events_of("backend")[-1]["url"] == urls[1]
                assert not queued.closed.is_set()


async def test_backend_killed_during_the_prompt_phase_closes_with_4503() -> None:
    with loopback_process(None, "--prompt-ms", "30000") as (backend, port):
        async with (
            frontend_server(moshi_ws_url=f"ws://127.0.0.1:{port}") as fe,
            conversation(fe.chat_url(events="1")) as talk,
        ):
            await talk.wait_for(lambda: talk.events_of("backend"))
            backend.stop(signal.SIGKILL)
            await talk.wait_for(talk.closed.is_set)
        assert not talk.handshake.is_set()
        assert talk.close_code == 4503
