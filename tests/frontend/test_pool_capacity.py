"""Backends that hold several conversations say how many; the pool believes them.

The upgrade response's X-Scenario6-Slots sets a backend's capacity in place of
SESSIONS_PER_BACKEND. Unit tests drive the pool's queue directly; the end-to-end tests
run the loopback backend with ``slots`` behind a real frontend.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from websockets.datastructures import Headers
from websockets.http11 import Response

from scenario6.backend.loopback import LoopbackSettings
from scenario6.facts.slots import SLOTS_HEADER
from scenario6.frontend.proxy.advertisement import Advertisement, advertisement
from scenario6.frontend.proxy.pool import BackendPool
from scenario6.frontend.settings import FrontendSettings
from scenario6.protocol.messages import KIND_HEADER
from tests.support.client import conversation
from tests.support.servers import frontend_server, loopback_server


def _pool(urls: str, **settings: object) -> BackendPool:
    return BackendPool(FrontendSettings(moshi_ws_url=urls, **settings))  # type: ignore[arg-type]


def _upgrade(**headers: str) -> Response:
    return Response(101, "Switching Protocols", Headers(headers))


def _batched(slots: int) -> Advertisement:
    return Advertisement("personaplex-batched", slots)


@pytest.mark.parametrize(
    ("sent", "kind"),
    [
        ("loopback", "loopback"),
        ("personaplex-batched", "personaplex-batched"),
        ("something-else", "personaplex"),
        (None, "personaplex"),
    ],
)
def test_kinds(sent: str | None, kind: str) -> None:
    headers = {} if sent is None else {KIND_HEADER: sent}
    assert advertisement(_upgrade(**headers)).kind == kind


@pytest.mark.parametrize(("sent", "slots"), [("1", 1), ("4", 4), ("064", 64)])
def test_a_slot_count_is_read(sent: str, slots: int) -> None:
    said = advertisement(_upgrade(**{SLOTS_HEADER: sent}))
    assert (said.slots, said.malformed) == (slots, None)


@pytest.mark.parametrize("sent", ["0", "-2", "+4", "4.0", "4_0", "four", "0x4", "", "9" * 5000])
def test_a_slot_count_that_is_not_one_is_malformed(sent: str) -> None:
    said = advertisement(_upgrade(**{SLOTS_HEADER: sent}))
    assert (said.slots, said.malformed) == (None, sent)


def test_headers_sent_twice_say_nothing_for_sure() -> None:
    headers = Headers([(KIND_HEADER, "loopback"), (KIND_HEADER, "loopback")])
    headers[SLOTS_HEADER] = "2"
    headers[SLOTS_HEADER] = "2"
    said = advertisement(Response(101, "Switching Protocols", headers))
    assert said == Advertisement("personaplex", malformed="2, 2")


def test_no_slot_count_is_neither_a_count_nor_malformed() -> None:
    assert advertisement(_upgrade()) == Advertisement("personaplex")
    assert advertisement(None) == Advertisement("personaplex")


async def test_a_larger_capacity_serves_the_waiting_clients_at_once() -> None:
    pool = _pool("ws://127.0.0.1:1")
    waiters = [await pool.enqueue() for _ in range(5)]
    backend = waiters[0].future.result()
    assert [w.future.done() for w in waiters] == [True, False, False, False, False]
    pool.learn(backend, _batched(4))
    assert [w.future.done() for w in waiters] == [True, True, True, True, False]
    assert all(w.future.result() is backend for w in waiters[:4])
    assert backend.active == 4 and pool.position(waiters[4]) == 1
    last = waiters[4].positions
    told = [last.get_nowait() for _ in range(last.qsize())]
    assert told[-1] == 1, "the last client in line hears it is now first"


async def test_a_smaller_capacity_ends_no_session_and_only_turns_new_ones_away() -> None:
    pool = _pool("ws://127.0.0.1:1")
    first = await pool.enqueue()
    backend = first.future.result()
    pool.learn(backend, _batched(3))
    second, third = await pool.enqueue(), await pool.enqueue()
    assert second.future.done() and third.future.done() and backend.active == 3
    pool.learn(backend, Advertisement("personaplex"))  # replaced by a one-at-a-time server
    assert backend.slots == 1 and backend.active == 3
    fourth = await pool.enqueue()
    pool.release(backend)
    pool.release(backend)
    assert not fourth.future.done(), "one session is still open: the backend is full"
    pool.release(backend)
    assert fourth.future.result() is backend


async def test_every_free_slot_serves_the_head_of_the_line() -> None:
    pool = _pool("ws://127.0.0.1:1,ws://127.0.0.1:2")
    waiters = [await pool.enqueue() for _ in range(5)]
    a, b = waiters[0].future.result(), waiters[1].future.result()
    assert [pool.position(w) for w in waiters[2:]] == [1, 2, 3]
    pool.learn(a, _batched(3))
    assert waiters[2].future.result() is a and waiters[3].future.result() is a
    assert pool.position(waiters[4]) == 1
    pool.release(b)
    assert waiters[4].future.result() is b


async def test_learned_capacity_survives_dns_refresh() -> None:
    pool = _pool("ws://127.0.0.1:1", dns_refresh_s=0)
    [backend] = pool.backends
    pool.learn(backend, _batched(3))
    await pool.refresh()
    assert pool.backends == (backend,) and backend.slots == 3


async def test_described_slots_and_active_sessions() -> None:
    pool = _pool("ws://127.0.0.1:1,ws://127.0.0.1:2", sessions_per_backend=2)
    first = await pool.enqueue()
    pool.learn(first.future.result(), _batched(4))
    await pool.enqueue()
    assert [(d["slots"], d["active"]) for d in pool.describe()] == [(4, 1), (2, 1)]


async def test_advertised_slots_serve_that_many_clients_at_once() -> None:
    """Configured 1, advertised 3: three sessions at once, a fourth waits for one to end."""
    settings = LoopbackSettings(prompt_ms=100, delay_ms=0, slots=3)
    async with (
        loopback_server(settings) as lb,
        frontend_server(moshi_ws_url=lb.url) as fe,
        httpx.AsyncClient(base_url=fe.http) as http,
        conversation(fe.chat_url("NATF0.pt", events="1")) as one,
        conversation(fe.chat_url("NATF1.pt", events="1")) as two,
        conversation(fe.chat_url("NATF2.pt", events="1")) as three,
    ):
        for talk in (one, two, three):
            await talk.wait_for(talk.handshake.is_set)
        assert not one.closed.is_set() and not two.closed.is_set()
        assert sum(record.active for record in lb.backend.sessions) == 3
        [described] = (await http.get("/api/config")).json()["backends"]
        assert (described["kind"], described["slots"], described["active"]) == ("loopback", 3, 3)
        async with conversation(fe.chat_url("NATF3.pt", events="1")) as fourth:
            await fourth.wait_for(lambda: fourth.events_of("queued"))
            assert [e["position"] for e in fourth.events_of("queued")] == [1]
            assert len(list(lb.backend.sessions)) == 3, "the full backend got no fourth session"
            await two.ws.close()
            await fourth.wait_for(fourth.handshake.is_set)
            assert [e["position"] for e in fourth.events_of("queued")] == [1]
        voices = sorted(record.query["voice_prompt"] for record in lb.backend.sessions)
        assert voices == ["NATF0.pt", "NATF1.pt", "NATF2.pt", "NATF3.pt"]


async def test_a_malformed_slot_count_keeps_the_configured_capacity(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = LoopbackSettings(prompt_ms=100, delay_ms=0, concurrent=True)
    caplog.set_level(logging.WARNING, logger="scenario6.frontend.pool")
    async with (
        loopback_server(settings, response_headers={SLOTS_HEADER: "many"}) as lb,
        frontend_server(moshi_ws_url=lb.url, sessions_per_backend=2) as fe,
        conversation(fe.chat_url(events="1")) as one,
        conversation(fe.chat_url(events="1")) as two,
    ):
        await one.wait_for(one.handshake.is_set)
        await two.wait_for(two.handshake.is_set)
        async with conversation(fe.chat_url(events="1")) as third:
            await third.wait_for(lambda: third.events_of("queued"))
            assert third.events_of("queued")[-1]["position"] == 1
            await one.ws.close()
            await third.wait_for(third.handshake.is_set)
        assert len(list(lb.backend.sessions)) == 3
    warnings = [r.getMessage() for r in caplog.records if SLOTS_HEADER in r.getMessage()]
    assert len(warnings) == 1, "warned once, not once per session"
    assert "'many'" in warnings[0] and "assuming 2" in warnings[0]
