"""Wrong-code limits shared by three real frontend replicas through a real Redis: a guesser
gets no more tries by spreading its guesses over the replicas, nor by firing them at once."""

from __future__ import annotations

import asyncio
import itertools
from contextlib import AbstractContextManager

import httpx
import redis
from redis.asyncio import Redis

from scenario6.frontend.access.attempts import SharedAttempts
from scenario6.frontend.proxy.shared import PREFIX
from tests.access.test_attempts import RIGHT, WRONG, client
from tests.support.redis import RedisServer, redis_server
from tests.support.replicas import replicas
from tests.support.servers import HOST, ChildServer, free_port

LIMIT = 3
# Sign-ins at once: well past the connections a replica keeps to Redis.
BURST = 500
GUESSER = client("198.51.100.7")


def _gated(store: RedisServer) -> AbstractContextManager[list[tuple[ChildServer, int]]]:
    unused = f"ws://{HOST}:{free_port()}"
    return replicas(
        store,
        unused,
        ACCESS_CODES=f"alice:{RIGHT}",
        ACCESS_ATTEMPTS_PER_MINUTE=str(LIMIT),
        TRUSTED_PROXIES="127.0.0.1",
    )


async def _sign_in(base: str, code: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"{base}/api/signin", json={"code": code}, headers=headers)


async def test_wrong_codes_spread_over_the_replicas_count_against_one_limit() -> None:
    with redis_server() as store, _gated(store) as frontends:
        bases = [f"http://{HOST}:{port}" for _, port in frontends]
        for base in bases[:LIMIT]:
            assert (await _sign_in(base, WRONG, GUESSER)).status_code == 401
        for base in bases:  # even the right code, on every replica
            limited = await _sign_in(base, RIGHT, GUESSER)
            assert limited.status_code == 429, limited.text
            assert 1 <= int(limited.headers["retry-after"]) <= 60
            assert "too many wrong codes" in limited.json()["detail"]
        # Right codes use up no tries: someone else signs in again and again, then mistypes.
        person = client("192.0.2.1")
        for base in bases * 2:
            assert (await _sign_in(base, RIGHT, person)).status_code == 200
        assert (await _sign_in(bases[0], WRONG, person)).status_code == 401
        # Nothing stays in Redis for ever: every key of the counts expires with its window.
        keys = redis.Redis.from_url(store.url)
        counted = keys.keys(f"{PREFIX}signin:*")
        assert counted
        assert all(0 < keys.ttl(key) <= 60 for key in counted)


async def test_parallel_guesses_at_every_replica_get_no_more_tries_than_the_limit() -> None:
    with redis_server() as store, _gated(store) as frontends:
        bases = itertools.cycle(f"http://{HOST}:{port}" for _, port in frontends)
        guesses = [_sign_in(next(bases), WRONG, GUESSER) for _ in range(30)]
        answers = [r.status_code for r in await asyncio.gather(*guesses)]
    assert sorted(answers) == [401] * LIMIT + [429] * (30 - LIMIT), answers


async def test_sign_in_refuses_every_code_while_redis_does_not_answer() -> None:
    with redis_server() as store, _gated(store) as frontends:
        base = f"http://{HOST}:{frontends[0][1]}"
        store.stop()
        refused = await _sign_in(base, RIGHT, GUESSER)
        assert refused.status_code == 503, refused.text
        assert refused.json()["detail"].startswith("sign-in is briefly unavailable")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "set-cookie" not in refused.headers
        store.start()
        assert (await _sign_in(base, RIGHT, GUESSER)).status_code == 200


async def test_redis_counts_networks_and_everyone_as_memory_does() -> None:
    """The limits of a single frontend, through the script: an IPv6 /64 and /48, the total."""
    with redis_server() as store:
        client = Redis.from_url(store.url)
        try:
            attempts = SharedAttempts(client, PREFIX, 2, per_network=3, total=5)
            for address in ("2001:db8::1", "2001:db8::2"):
                assert (await attempts.reserve(address)).ticket
            assert (await attempts.reserve("2001:db8::3")).retry_after == 60  # the same /64
            assert (await attempts.reserve("2001:db8:0:1::1")).ticket  # the /48's third
            network = await attempts.reserve("2001:db8:0:2::1")
            assert (network.retry_after, network.everyone) == (60, False)
            right = await attempts.reserve("10.0.0.8")
            assert right.ticket is not None
            await attempts.take_back("10.0.0.8", right.ticket)  # its code was right
            for address in ("10.0.0.9", "10.0.0.10"):  # the fourth and fifth in all
                assert (await attempts.reserve(address)).ticket
            paused = await attempts.reserve("10.0.0.11")
            assert (paused.retry_after, paused.everyone) == (60, True)
        finally:
            await client.aclose()


async def test_a_redis_restart_costs_no_sign_in_after_it_a_503() -> None:
    """The replicas' connections to the old Redis are dead after a restart; the first request
    on each must not be the one that finds out."""
    with redis_server() as store, _gated(store) as frontends:
        base = f"http://{HOST}:{frontends[0][1]}"
        people = [client(f"192.0.2.{n}") for n in range(1, 7)]
        # Parallel sign-ins leave as many connections in the replica's pool.
        before = await asyncio.gather(*(_sign_in(base, RIGHT, who) for who in people))
        assert {r.status_code for r in before} == {200}
        store.stop()
        store.start()
        after = await asyncio.gather(*(_sign_in(base, RIGHT, who) for who in people))
        assert [r.status_code for r in after] == [200] * len(people), [r.text for r in after]


async def test_a_burst_of_sign_ins_waits_for_redis_connections_rather_than_fail() -> None:
    """More requests at once than a replica keeps connections to Redis: they take turns,
    and none is told that sign-in is unavailable."""
    with redis_server() as store, _gated(store) as frontends:
        base = f"http://{HOST}:{frontends[0][1]}"
        limits = httpx.Limits(max_connections=BURST)
        async with httpx.AsyncClient(timeout=httpx.Timeout(60, pool=None), limits=limits) as http:
            burst = [
                http.post(f"{base}/api/signin", json={"code": RIGHT}, headers=client(address))
                for address in (f"10.0.{n // 256}.{n % 256}" for n in range(BURST))
            ]
            answers = await asyncio.gather(*burst)
        refused = [r.text for r in answers if r.status_code != 200]
        assert not refused, (len(refused), refused[:3])
