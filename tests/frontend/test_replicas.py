"""Three frontend replicas share one queue and one count of backend slots in a real Redis.

Each replica is ``scenario6 frontend`` in a process of its own with ``REDIS_URL`` set, in
front of real loopback backends that serve one conversation at a time; a second one sent to
a busy loopback would wait there silently, which is what the pool must never let happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from scenario6.backend.loopback_settings import LoopbackSettings
from scenario6.bench.harness import free_port
from scenario6.frontend.proxy import closes
from scenario6.frontend.proxy.shared import PREFIX
from tests.access.test_cookie_lifetime import CODES, config, sign_in
from tests.support.audio import encode_messages, sweep
from tests.support.client import Conversation, conversation
from tests.support.redis import RedisServer, redis_server, tls_redis_server
from tests.support.replicas import LEASE_TTL_S, replicas
from tests.support.servers import (
    HOST,
    RunningLoopback,
    frontend_process,
    loopback_server,
)
from tests.support.waiting import until

AUDIO = encode_messages(sweep(0.8))
# Waiters on one replica: more than it keeps connections to Redis.
LINE = 150


def _chat_url(port: int) -> str:
    return f"ws://{HOST}:{port}/api/chat?voice_prompt=NATF2.pt&text_prompt=Hi&events=1"


@contextlib.asynccontextmanager
async def _peak_sessions(backend: RunningLoopback) -> AsyncIterator[list[int]]:
    """The most sessions the loopback had open at once, sampled while the block runs."""
    peak = [0]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], sum(1 for r in backend.backend.sessions if r.active))
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    try:
        yield peak
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)


def _position(talk: Conversation) -> object:
    queued = talk.events_of("queued")
    return queued[-1]["position"] if queued else None


def _ready(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/ready", timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


@contextlib.asynccontextmanager
async def _one_talking(
    shared: RedisServer | None = None, **settings: str
) -> AsyncIterator[tuple[RedisServer, contextlib.AsyncExitStack, list[int], Conversation]]:
    """Three replicas sharing ``shared`` (a Redis of their own by default) in front of one
    loopback backend, busy with a conversation through the first: more conversations
    entered on the stack wait in line."""
    with contextlib.ExitStack() as own:
        store = shared or own.enter_context(redis_server())
        async with loopback_server() as backend:
            with replicas(store, backend.url, **settings) as frontends:
                ports = [port for _, port in frontends]
                async with contextlib.AsyncExitStack() as stack:
                    live = await stack.enter_async_context(conversation(_chat_url(ports[0])))
                    await live.wait_for(live.handshake.is_set)
                    yield store, stack, ports, live


async def test_queue_positions_agree_acrossreplicas() -> None:
    async with _one_talking() as (_, stack, ports, live):
        waiting = []
        for port in (ports[1], ports[2], ports[0]):
            talk = await stack.enter_async_context(conversation(_chat_url(port)))
            await talk.wait_for(lambda t=talk: _position(t))  # type: ignore[misc]
            waiting.append(talk)
        assert [_position(t) for t in waiting] == [1, 2, 3]
        await live.ws.close()
        # The head of the line, on another replica, gets the slot; the rest move up.
        first, second, third = waiting
        await first.wait_for(first.handshake.is_set)
        await second.wait_for(lambda: _position(second) == 1)
        await third.wait_for(lambda: _position(third) == 2)
        assert not second.handshake.is_set() and not third.handshake.is_set()


async def test_replicas_share_the_line_in_a_redis_that_speaks_only_tls(tmp_path: Path) -> None:
    with tls_redis_server(tmp_path / "certs") as tls:
        assert tls.url.startswith("rediss://")
        async with _one_talking(tls) as (_, stack, ports, live):
            queued = await stack.enter_async_context(conversation(_chat_url(ports[1])))
            await queued.wait_for(lambda: _position(queued) == 1)
            await live.ws.close()
            await queued.wait_for(queued.handshake.is_set)
            assert await queued.echoed(AUDIO)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("untrusted_url", "self-signed certificate in certificate chain"),  # no CA named
        ("misnamed_url", "IP address mismatch"),  # the CA's, but for another address
    ],
)
async def test_a_redis_whose_certificate_does_not_verify_serves_no_session_and_says_why(
    tmp_path: Path, url: str, why: str
) -> None:
    with tls_redis_server(tmp_path / "certs") as store:
        async with loopback_server() as backend:
            env = {"MOSHI_WS_URL": backend.url, "REDIS_URL": getattr(store, url)}
            with frontend_process(env) as (process, port):
                async with conversation(_chat_url(port)) as refused:
                    await refused.wait_for(refused.closed.is_set)
                assert not refused.handshake.is_set()
                assert refused.close_code == closes.SHARED_STATE_UNREACHABLE
                assert not list(backend.backend.sessions)
                status, body = _ready(port)
                assert status == 503 and "Redis does not answer" in json.dumps(body)
                assert f"certificate verify failed: {why}" in process.output()


async def test_a_client_that_leaves_the_line_leaves_nothing_in_redis() -> None:
    with redis_server() as store:
        async with loopback_server() as backend:
            with replicas(store, backend.url) as frontends:
                ports = [port for _, port in frontends]
                async with conversation(_chat_url(ports[0])) as live:
                    await live.wait_for(live.handshake.is_set)
                    async with conversation(_chat_url(ports[1])) as queued:
                        await queued.wait_for(lambda: _position(queued) == 1)
                    keys = redis.Redis.from_url(store.url)
                    line = [PREFIX + "queue", PREFIX + "queue-expiries"]
                    await until(
                        lambda: not any(keys.zcard(key) for key in line),
                        "the line and its expiries to be empty",
                    )


async def test_a_killed_replica_loses_only_its_sessions_and_its_slots_serve_the_queue() -> None:
    with redis_server() as store:
        async with loopback_server() as one, loopback_server() as two:
            with replicas(store, one.url, two.url) as frontends:
                (doomed, doomed_port), (_, port), (_, other_port) = frontends
                async with (
                    conversation(_chat_url(doomed_port)) as lost,
                    conversation(_chat_url(other_port)) as kept,
                ):
                    await lost.wait_for(lost.handshake.is_set)
                    await kept.wait_for(kept.handshake.is_set)
                    async with conversation(_chat_url(port)) as queued:
                        await queued.wait_for(lambda: _position(queued) == 1)
                        os.killpg(doomed.pid, signal.SIGKILL)
                        killed = time.monotonic()
                        await lost.wait_for(lost.closed.is_set)
                        # Nobody released the slot: its lease expired, and the queue got it.
                        await queued.wait_for(queued.handshake.is_set)
                        print(
                            f"slot served the queue {time.monotonic() - killed:.2f}s after SIGKILL"
                        )
                        assert await queued.echoed(AUDIO)
                    assert await kept.echoed(AUDIO)


async def test_a_replica_new_to_a_backend_of_several_slots_books_what_the_others_learned() -> None:
    # The backend holds 3; each replica is configured for 1 until a session there tells it.
    async with loopback_server(LoopbackSettings(prompt_ms=200, delay_ms=0, slots=3)) as backend:
        with redis_server() as store, replicas(store, backend.url) as frontends:
            (_, first_port), (_, new_port), (_, newest_port) = frontends
            async with conversation(_chat_url(first_port)) as first:
                await first.wait_for(first.handshake.is_set)
                # The second replica never had a session there: one slot held, two free.
                async with conversation(_chat_url(new_port)) as second:
                    await second.wait_for(second.handshake.is_set)
                    assert _position(second) is None, "it waited while two slots were free"
                    assert await second.echoed(AUDIO)
                    # Redis loses its keys: the replicas that learned the count write it back
                    # for the one that never had a session there.
                    redis.Redis.from_url(store.url).flushall()
                    async with conversation(_chat_url(newest_port)) as third:
                        await third.wait_for(third.handshake.is_set)
                        assert await third.echoed(AUDIO)


async def test_clients_in_line_keep_their_places_when_redis_loses_its_keys() -> None:
    async with _one_talking() as (store, stack, ports, live):
        before = await stack.enter_async_context(conversation(_chat_url(ports[1])))
        await before.wait_for(lambda: _position(before) == 1)
        redis.Redis.from_url(store.url).flushall()
        after = await stack.enter_async_context(conversation(_chat_url(ports[2])))
        # The one in line before the loss stays ahead of the one who came after.
        await after.wait_for(lambda: _position(after) == 2)
        await live.ws.close()
        await before.wait_for(before.handshake.is_set)
        await after.wait_for(lambda: _position(after) == 1)
        assert not after.handshake.is_set()


async def test_callers_arriving_while_a_flushed_redis_is_fenced_keep_their_order() -> None:
    async with _one_talking(MAX_SESSIONS_PER_CLIENT="10") as (store, stack, ports, _):
        redis.Redis.from_url(store.url).flushall()
        # While the replicas write the live session back, nobody is admitted or booked; the
        # callers wait out that pause at different moments of its checks.
        callers = []
        for port in (ports[1], ports[2], ports[1], ports[2], ports[1]):
            callers.append(await stack.enter_async_context(conversation(_chat_url(port))))
            await asyncio.sleep(0.07)
        await until(
            lambda: [_position(caller) for caller in callers] == [1, 2, 3, 4, 5],
            "the callers in line in the order they came",
        )


async def test_a_client_gone_while_a_flushed_redis_is_fenced_opens_no_backend_session() -> None:
    with redis_server() as store:
        async with loopback_server() as backend:
            with replicas(store, backend.url) as frontends:
                redis.Redis.from_url(store.url).flushall()
                async with conversation(_chat_url(frontends[0][1])) as gone:
                    await asyncio.sleep(LEASE_TTL_S / 3)  # within the pause it began
                    await gone.ws.close()
                await asyncio.sleep(LEASE_TTL_S * 2)
                assert not list(backend.backend.sessions), "a backend session for a client gone"


async def test_clients_that_leave_at_once_leave_nothing_counted() -> None:
    with redis_server() as store:
        async with loopback_server() as backend:
            with replicas(store, backend.url) as frontends:
                port = frontends[0][1]
                async with conversation(_chat_url(port)) as first:  # past the start-up pause
                    await first.wait_for(first.handshake.is_set)
                # A reload, a quick reconnect: the count is checked while they are gone.
                for _ in range(40):
                    quick = await connect(_chat_url(port), compression=None)
                    await quick.close()
                await asyncio.sleep(LEASE_TTL_S / 5)
                keys = redis.Redis.from_url(store.url)
                counted = sum(keys.zcard(key) for key in keys.scan_iter(PREFIX + "client:*"))
                assert counted == 0, f"{counted} sessions counted for clients that left"
                async with conversation(_chat_url(port)) as real:
                    await real.wait_for(real.handshake.is_set)


async def test_a_line_that_leaves_as_the_slot_frees_leaves_nothing_booked() -> None:
    with redis_server() as store:
        async with loopback_server() as backend:
            with replicas(store, backend.url, MAX_SESSIONS_PER_CLIENT="100") as frontends:
                port = frontends[0][1]
                keys = redis.Redis.from_url(store.url)
                for trial in range(4):
                    async with contextlib.AsyncExitStack() as stack:
                        holder = await stack.enter_async_context(conversation(_chat_url(port)))
                        await holder.wait_for(holder.handshake.is_set)
                        line = [await connect(_chat_url(port), compression=None) for _ in range(20)]
                        await until(lambda: keys.zcard(PREFIX + "queue") == 20, "all in line")
                    # The slot freed; at that moment (give or take) every waiter vanishes.
                    await asyncio.sleep(0.001 * trial)
                    for gone in line:
                        gone.transport.abort()
                    await asyncio.sleep(LEASE_TTL_S / 3)
                    booked = sum(keys.zcard(key) for key in keys.scan_iter(PREFIX + "slots:*"))
                    line_left = [keys.zcard(PREFIX + name) for name in ("queue", "queue-expiries")]
                    assert (booked, *line_left) == (0, 0, 0), f"trial {trial}"


async def test_the_sessions_per_client_limit_holds_acrossreplicas() -> None:
    with redis_server() as store:
        async with loopback_server() as one, loopback_server() as two:
            with replicas(store, one.url, two.url, MAX_SESSIONS_PER_CLIENT="1") as frontends:
                ports = [port for _, port in frontends]
                async with conversation(_chat_url(ports[0])) as live:
                    await live.wait_for(live.handshake.is_set)
                    async with conversation(_chat_url(ports[1])) as second:
                        await second.wait_for(second.closed.is_set)
                        assert second.close_code == closes.TOO_MANY_SESSIONS
                # Its session over, the client may start one on any replica.
                async with conversation(_chat_url(ports[2])) as later:
                    await later.wait_for(later.handshake.is_set)


async def test_the_sessions_per_client_limit_holds_when_redis_loses_its_keys() -> None:
    with redis_server() as store:
        async with loopback_server() as one, loopback_server() as two:
            with replicas(store, one.url, two.url, MAX_SESSIONS_PER_CLIENT="2") as frontends:
                ports = [port for _, port in frontends]
                async with (
                    conversation(_chat_url(ports[0])) as first,
                    conversation(_chat_url(ports[1])) as second,
                ):
                    await first.wait_for(first.handshake.is_set)
                    await second.wait_for(second.handshake.is_set)
                    redis.Redis.from_url(store.url).flushall()
                    # Asked before the replicas wrote the two sessions back, and after.
                    async with (
                        conversation(_chat_url(ports[2])) as third,
                        conversation(_chat_url(ports[0])) as fourth,
                    ):
                        for extra in (third, fourth):
                            await extra.wait_for(extra.closed.is_set)
                            assert extra.close_code == closes.TOO_MANY_SESSIONS
                    assert await first.echoed(AUDIO) and await second.echoed(AUDIO)


async def test_a_sign_out_on_one_replica_holds_on_every_replica() -> None:
    with redis_server() as store:
        unused = f"ws://{HOST}:{free_port()}"
        with replicas(store, unused, ACCESS_CODES=CODES) as frontends:
            laptop, other, third = (f"http://{HOST}:{port}" for _, port in frontends)
            cookie = sign_in(laptop)
            copy = cookie  # taken from the laptop before its owner signs out
            assert config(other, copy).status_code == 200
            out = await asyncio.to_thread(
                httpx.post, f"{laptop}/api/signout", headers={"Cookie": cookie}
            )
            assert out.status_code == 204
            await until(
                lambda: config(other, copy).status_code == config(third, copy).status_code == 401,
                "the sign-out honoured by every replica",
            )


async def test_a_sign_out_while_redis_is_down_reaches_every_replica_once_it_is_back() -> None:
    with redis_server() as store:
        unused = f"ws://{HOST}:{free_port()}"
        with replicas(store, unused, ACCESS_CODES=CODES) as frontends:
            laptop, other, third = (f"http://{HOST}:{port}" for _, port in frontends)
            copy = cookie = sign_in(laptop)
            store.stop()
            out = await asyncio.to_thread(
                httpx.post, f"{laptop}/api/signout", headers={"Cookie": cookie}
            )
            assert out.status_code == 204
            store.start()
            await until(
                lambda: config(other, copy).status_code == config(third, copy).status_code == 401,
                "the sign-out honoured by every replica",
                timeout=30,
            )


async def test_redis_stopped_and_restarted_books_no_slot_twice() -> None:
    with redis_server() as store:
        async with loopback_server() as backend, _peak_sessions(backend) as peak:
            with replicas(store, backend.url) as frontends:
                ports = [port for _, port in frontends]
                async with conversation(_chat_url(ports[0])) as live:
                    await live.wait_for(live.handshake.is_set)
                    async with conversation(_chat_url(ports[1])) as queued:
                        await queued.wait_for(lambda: _position(queued) == 1)
                        store.stop()
                        await queued.wait_for(queued.closed.is_set)
                        assert queued.close_code == closes.SHARED_STATE_UNREACHABLE
                    async with conversation(_chat_url(ports[2])) as refused:
                        await refused.wait_for(refused.closed.is_set)
                        assert refused.close_code == closes.SHARED_STATE_UNREACHABLE
                    await until(
                        lambda: _ready(ports[0])[0] == 503, "/ready fails while Redis is down"
                    )
                    _, ready = _ready(ports[0])
                    assert "Redis" in str(ready["reason"]), ready
                    assert await live.echoed(AUDIO)  # the conversation in progress goes on

                    store.start()  # empty: the live conversation's lease is gone from it
                    await until(lambda: _ready(ports[0])[0] == 200, "/ready once Redis is back")
                    async with conversation(_chat_url(ports[2])) as later:
                        await later.wait_for(lambda: _position(later) == 1)
                        await asyncio.sleep(3 * LEASE_TTL_S)
                        assert not later.handshake.is_set()
                        await live.ws.close()
                        await later.wait_for(later.handshake.is_set)
                        assert await later.echoed(AUDIO)
            assert peak[0] == 1


async def test_a_slot_freed_under_a_long_line_closes_none_of_it() -> None:
    """A freed slot wakes every waiter on the replica at once, each asking Redis for it: a
    line longer than the replica's connections to Redis takes turns for them, and no waiter
    is closed as if Redis were down."""
    async with loopback_server() as backend:
        with (
            redis_server() as store,
            replicas(store, backend.url, MAX_SESSIONS_PER_CLIENT=str(LINE + 1)) as frontends,
        ):
            port = frontends[0][1]
            async with contextlib.AsyncExitStack() as stack:
                first = await stack.enter_async_context(conversation(_chat_url(port)))
                await first.wait_for(first.handshake.is_set)
                line = [
                    await stack.enter_async_context(conversation(_chat_url(port)))
                    for _ in range(LINE)
                ]
                await line[-1].wait_for(lambda: line[-1].events_of("queued"))
                await first.ws.close()
                head = line[0]
                await head.wait_for(lambda: head.handshake.is_set() or head.closed.is_set(), 30)
                closed = [(w.close_code, w.close_reason) for w in line if w.closed.is_set()]
                assert not closed, (len(closed), closed[:3])
                assert head.handshake.is_set()


async def test_sign_outs_outlive_a_redis_restart_for_a_replica_started_after_it() -> None:
    """Redis restarted empty loses the shared log; the replicas still running write back the
    sign-outs they hold, so that a replica started afterwards refuses those cookies too."""
    with redis_server() as store:
        unused = f"ws://{HOST}:{free_port()}"
        with replicas(store, unused, ACCESS_CODES=CODES) as frontends:
            laptop = f"http://{HOST}:{frontends[0][1]}"
            copy = cookie = sign_in(laptop)
            out = await asyncio.to_thread(
                httpx.post, f"{laptop}/api/signout", headers={"Cookie": cookie}
            )
            assert out.status_code == 204
            store.stop()
            store.start()
            env = {
                "MOSHI_WS_URL": unused,
                "REDIS_URL": store.url,
                "ACCESS_CODES": CODES,
            }
            with frontend_process(env) as (_, port):
                late = f"http://{HOST}:{port}"
                await until(
                    lambda: config(late, copy).status_code == 401,
                    "the sign-out honoured by a replica started after the restart",
                    timeout=30,
                )
