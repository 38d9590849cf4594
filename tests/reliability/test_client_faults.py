"""Clients that stop reading, and a frontend that restarts under its clients."""

from __future__ import annotations

import asyncio
import signal
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.client import conversation
from tests.support.rogue import floods, rogue_backend
from tests.support.servers import (
    frontend_process,
    frontend_server,
    loopback_process,
    loopback_server,
)

MB = 1 << 20


async def test_client_that_stops_reading_is_closed_with_4508_and_memory_stays_bounded() -> None:
    async with rogue_backend(floods(4000)) as rogue:
        env = {"MOSHI_WS_URL": rogue.url, "SEND_TIMEOUT_S": "2"}
        with frontend_process(env) as (frontend, port):
            url = f"ws://127.0.0.1:{port}/api/chat?voice_prompt=NATF2.pt&text_prompt=x"
            rss_before = frontend.rss_bytes()
            # max_queue=1 and no recv(): the client stops reading its socket at once.
            async with connect(url, compression=None, max_queue=1, close_timeout=1) as ws:
                started = time.monotonic()
                while rogue.ended == 0:
                    assert time.monotonic() - started < 20, "the proxy kept waiting on the client"
                    await asyncio.sleep(0.01)
                gave_up = time.monotonic() - started
                rss_growth = frontend.rss_bytes() - rss_before
                received = 0
                try:
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                        received += 1
                except ConnectionClosed:
                    pass
            print(
                f"proxy gave up on the slow client after {gave_up:.1f}s; frontend RSS grew "
                f"{rss_growth / MB:.1f} MiB; {received} messages were in flight"
            )
            assert ws.close_code == 4508
            assert ws.close_reason == "client too slow: not reading"
            assert rss_growth < 32 * MB, "the proxy buffered for a client that does not read"
            # The backend is free again: the next client is put through.
            async with connect(url, compression=None, close_timeout=1) as again:
                assert await asyncio.wait_for(again.recv(), 5) == b"\x00"
            assert rogue.connections == 2


async def test_frontend_restart_ends_sessions_after_the_drain_and_clients_can_reconnect() -> None:
    with loopback_process(None, "--prompt-ms", "100", "--delay-ms", "0") as (_, backend_port):
        # The drain lets the live conversation run for one second, then ends it with 1001.
        env = {"MOSHI_WS_URL": f"ws://127.0.0.1:{backend_port}", "DRAIN_TIMEOUT_S": "1"}
        with frontend_process(env) as (frontend, port):
            url = f"ws://127.0.0.1:{port}/api/chat?voice_prompt=NATF2.pt&text_prompt=x"
            async with conversation(url) as talk:
                await talk.wait_for(talk.handshake.is_set)
                frontend.stop(signal.SIGTERM)
                await talk.wait_for(talk.closed.is_set)
            assert talk.close_code == 1001
        with frontend_process(env, port):
            async with conversation(url) as again:
                # The backend's slot was released when the old frontend closed its session.
                await again.wait_for(again.handshake.is_set)


async def test_client_that_vanishes_frees_the_backend_at_once() -> None:
    """A client whose connection just drops (no close frame): its backend session ends and
    the next client in line gets the backend."""
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
    ):
        gone = await connect(fe.chat_url(), compression=None)
        assert await asyncio.wait_for(gone.recv(), 5) == b"\x00"
        async with conversation(fe.chat_url(events="1")) as queued:
            await queued.wait_for(lambda: queued.events_of("queued"))
            gone.transport.abort()
            await queued.wait_for(queued.handshake.is_set)
        first, _ = lb.backend.sessions
        assert first.active is False
