"""``GET /api/sessions``: live and queued conversations per backend, for this machine only and
only past the access gate."""

from __future__ import annotations

import httpx

from tests.support.client import conversation
from tests.support.servers import frontend_server, loopback_server


async def test_live_and_queued_sessions_are_counted_per_backend() -> None:
    async with (
        loopback_server() as backend,
        frontend_server(moshi_ws_url=backend.url) as fe,
        httpx.AsyncClient() as http,
    ):
        idle = (await http.get(f"{fe.http}/api/sessions")).json()
        async with conversation(fe.chat_url(events="1")) as first:
            await first.wait_for(first.handshake.is_set)
            async with conversation(fe.chat_url(events="1")) as second:
                await second.wait_for(lambda: second.events_of("queued"))
                busy = (await http.get(f"{fe.http}/api/sessions")).json()
    assert idle == {
        "live": 0,
        "queued": 0,
        "backends": [{"url": backend.url, "kind": None, "slots": 1, "active": 0}],
    }
    assert busy == {
        "live": 1,
        "queued": 1,
        "backends": [{"url": backend.url, "kind": "loopback", "slots": 1, "active": 1}],
    }


async def test_the_access_gate_and_remote_clients_are_refused() -> None:
    async with (
        frontend_server(moshi_ws_url="ws://127.0.0.1:9", access_codes="ann:ann-code-1234") as gated,
        frontend_server(moshi_ws_url="ws://127.0.0.1:9", trusted_proxies="127.0.0.1") as proxied,
        httpx.AsyncClient() as http,
    ):
        signed_out = await http.get(f"{gated.http}/api/sessions")
        relayed = await http.get(
            f"{proxied.http}/api/sessions", headers={"X-Forwarded-For": "203.0.113.9"}
        )
        local = await http.get(f"{proxied.http}/api/sessions")
    assert signed_out.status_code == 401
    assert relayed.status_code == 403  # a client elsewhere, relayed by a proxy on this machine
    assert local.status_code == 200
