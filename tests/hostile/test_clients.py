"""Hostile clients: foreign origins, many sessions from one address, a flood of queuers."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from websockets.asyncio.client import connect

from tests.hostile.conftest import Servers
from tests.support.client import Conversation, conversation
from tests.support.servers import frontend_server, loopback_server


@pytest.mark.parametrize(
    "origin",
    [
        "null",  # sandboxed iframes and file: pages
        "http://127.0.0.1:1",  # same host, another port
        "ftp://127.0.0.1:{port}",  # same host and port, a scheme no page has
        "file://",
        "http://127.0.0.1:{port}.evil.example",
        "http://127.0.0.1:{port}@evil.example",
        "http://localhost:{port}",  # another name is another origin
        "https://evil.example",
        "http://[",  # unparseable: once a 500 and a traceback
        "http://[::1",
    ],
)
async def test_foreign_origins_are_refused_with_a_reason(servers: Servers, origin: str) -> None:
    foreign = origin.format(port=servers.fe.port)
    async with conversation(servers.fe.chat_url(events="1"), origin=foreign) as talk:
        await talk.wait_for(talk.closed.is_set)
    assert talk.close_code == 4403
    assert "ALLOWED_ORIGINS" in (talk.close_reason or "")
    assert talk.events_of("error")[0]["code"] == 4403
    assert not talk.handshake.is_set()
    assert servers.backend_sessions() == []


async def test_sessions_per_client_are_limited_and_queued_ones_count(servers: Servers) -> None:
    async with contextlib.AsyncExitStack() as stack:
        talks: list[Conversation] = []
        for _ in range(4):  # the default limit: one live session and three waiting
            talk = await stack.enter_async_context(conversation(servers.fe.chat_url(events="1")))
            await talk.wait_for(lambda t=talk: t.handshake.is_set() or t.events_of("queued"))
            talks.append(talk)
        async with conversation(servers.fe.chat_url(events="1")) as fifth:
            await fifth.wait_for(fifth.closed.is_set)
        assert fifth.close_code == 4429
        assert fifth.close_reason == "too many sessions from this client (4)"
        assert fifth.events_of("error")[0]["code"] == 4429
        # Leaving makes room again.
        await talks[-1].ws.close()
        await talks[-1].wait_for(talks[-1].closed.is_set)
        async with conversation(servers.fe.chat_url(events="1")) as again:
            await again.wait_for(lambda: again.events_of("queued"))
        assert len(servers.backend_sessions()) == 1


async def test_queue_flood_is_refused_and_leaves_no_stuck_slot() -> None:
    flood, limit = 60, 10
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url, max_sessions_per_client=limit) as fe,
    ):
        connected = 0
        all_in = asyncio.Event()

        async def knock() -> int | None:
            nonlocal connected
            async with connect(fe.chat_url(), open_timeout=20) as ws:
                connected += 1
                if connected == flood:
                    all_in.set()
                await all_in.wait()  # hold every admitted session until the flood is in
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(ws.wait_closed(), 1)
                return ws.close_code

        codes = await asyncio.wait_for(asyncio.gather(*(knock() for _ in range(flood))), 60)
        assert codes.count(4429) == flood - limit, codes
        assert len(list(lb.backend.sessions)) == 1, "only the first in line may reach it"
        # Every flooder is gone: the next client gets the backend at once.
        async with conversation(fe.chat_url()) as talk:
            await talk.wait_for(talk.handshake.is_set)
