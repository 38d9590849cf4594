"""The pool's state in Redis, so that several frontend replicas share one queue and one
count of every backend's slots.

A slot is a lease: a member of the backend's sorted set, scored by when it expires. The
replica that holds it renews it while the session lives; a replica killed outright stops
renewing, and its slots free themselves within ``REDIS_LEASE_TTL_S``. The queue is one
sorted set by ticket (when it joined, by Redis's clock); a waiter's place is its rank, and
its replica keeps it in line by polling. One Lua script books a slot, so two replicas never
take the same one.
A backend's slot count, learned by whichever replica last opened a session on it, is shared
too: a replica that has not had a session there yet (just started, say) books by it rather
than by its configured count, which would leave it waiting while the slots it cannot see
are free and the other replicas' later callers pass it.

A Redis that comes back empty (restarted without persistence) has lost the leases of the
conversations still running: for one lease TTL after such a start nobody books anything
(:mod:`.fence`), which gives every replica time to write its leases back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from ..settings import FrontendSettings
from . import fence
from .clients import UNREACHABLE, SharedClientSessions
from .downstream import SessionEnd
from .pool import Backend, BackendPool, Waiter
from .redis_call import guarded

if TYPE_CHECKING:
    from .advertisement import Advertisement

log = logging.getLogger("scenario6.frontend.shared")
PREFIX = "scenario6:"  # of every key the frontends keep in Redis
# How often a waiting client's replica asks for a slot (a slot freed on this replica wakes
# its waiters at once).
_POLL_S = 0.2
# Redis answers in a millisecond; one that does not answer in this long is as good as gone.
_TIMEOUT_S = 2.0
# Connections to Redis per replica. A burst of requests waits its turn for one (up to
# _TIMEOUT_S) rather than fail: redis' default pool refuses the 101st at once, so a flood
# of sign-ins would refuse everyone's sign-ins and sessions as if Redis were down.
_CONNECTIONS = 100
# A pooled connection that Redis closed (a restart, its idle timeout) shows only when used:
# one more try, on a new connection, so that no client pays for it. Never after a timeout,
# which would double the wait. A script run twice errs on the safe side: a try or a lease
# counted twice, until its TTL.
_RETRY = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
# How long the learned slot counts outlive the last replica that knew any of them.
_LEARNED_TTL_MS = 24 * 3600 * 1000

# KEYS: queue, queue expiries, "booted" marker, fence, learned slot counts, then one lease
# set per backend. ARGV: waiter id, ticket, lease TTL (ms), then per backend its slots as
# this replica knows them, 1 if usable, and its field in the learned counts.
# Returns {backend's 1-based index, 0, its slots} when booked, else {0, place in line, 0}.
_BOOK = (
    fence.lua(3, 4)
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[1], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if paused then
  return {0, rank + 1, 0}
end
local free, best, fewest, held = 0, nil, nil, 0
for i = 6, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local active = redis.call('ZCARD', KEYS[i])
  local at = 1 + (i - 5) * 3
  local slots = tonumber(redis.call('HGET', KEYS[5], ARGV[at + 2]) or ARGV[at])
  if active < slots then
    free = free + slots - active
    if ARGV[at + 1] == '1' and (best == nil or active < fewest) then
      best, fewest, held = i, active, slots
    end
  end
end
if best == nil or rank >= free then
  return {0, rank + 1, 0}
end
redis.call('ZADD', KEYS[best], now + ttl, ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {best - 5, 0, held}
"""
)

# KEYS: the sorted set of each held lease (a backend's slots, a client's sessions); ARGV:
# lease TTL (ms), then the lease ids. Writes a lease back if Redis lost it.
_RENEW = """
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], until_ms, ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return #KEYS
"""


def _key(name: str) -> str:
    return PREFIX + name


def _field(backend: Backend) -> str:
    return f"{backend.url.url}|{backend.address or ''}"


def _lease_key(backend: Backend) -> str:
    return _key(f"slots:{_field(backend)}")


class SharedPool(BackendPool):
    """A ``BackendPool`` whose queue and slot counts live in Redis (``REDIS_URL``).

    Backends' kinds and recent failures stay per replica: each learns them from its own
    sessions. Their slot counts are shared (``learned-slots``).
    """

    def __init__(self, settings: FrontendSettings) -> None:
        super().__init__(settings)
        assert settings.redis_url is not None
        connections = BlockingConnectionPool.from_url(
            settings.redis_url.get_secret_value(),
            max_connections=_CONNECTIONS,
            timeout=_TIMEOUT_S,
            socket_timeout=_TIMEOUT_S,
            socket_connect_timeout=_TIMEOUT_S,
            retry=_RETRY,
        )
        self._redis = Redis.from_pool(connections)
        self._ttl_ms = int(settings.redis_lease_ttl_s * 1000)
        self._book = self._redis.register_script(_BOOK)
        self._renew = self._redis.register_script(_RENEW)
        self._held: dict[Backend, list[str]] = {}  # lease ids this replica holds
        self._polls: dict[Waiter, asyncio.Task[None]] = {}
        self._chores: set[asyncio.Task[object]] = set()
        self._freed = asyncio.Event()
        self._renewer: asyncio.Task[None] | None = None
        self._problem: str | None = None
        self._clients = SharedClientSessions(
            settings.max_sessions_per_client, self._redis, self._ttl_ms, PREFIX, self._chore
        )
        self.clients = self._clients

    @property
    def unavailable(self) -> str | None:
        return self._problem

    @property
    def redis(self) -> Redis:
        return self._redis

    async def start(self) -> None:
        self._renewer = asyncio.create_task(self._renew_leases())

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        for task in [*self._polls.values(), *self._chores]:
            task.cancel()
        await asyncio.gather(*self._polls.values(), *self._chores, return_exceptions=True)
        await self._redis.aclose()

    async def arrival(self) -> int:
        # Redis's clock in microseconds, not a counter: a counter lost with Redis's keys
        # would start again below the tickets of clients still in line, and newcomers
        # would pass them.
        try:
            seconds, microseconds = await self._redis.time()
        except RedisError as exc:
            raise self._down(exc) from exc
        return int(seconds) * 1_000_000 + int(microseconds)

    async def enqueue(self, avoid: frozenset[Backend] = frozenset(), ticket: int = 0) -> Waiter:
        waiter = Waiter(avoid=avoid)
        ticket = ticket or await self.arrival()
        # A client a backend failed had reached the head of the line: it goes back there.
        waiter.ticket = -ticket if avoid else ticket
        await self._try(waiter)
        if not waiter.future.done():
            self._waiters.append(waiter)
            self._polls[waiter] = asyncio.create_task(self._poll(waiter))
        return waiter

    def leave(self, waiter: Waiter) -> None:
        poll = self._polls.pop(waiter, None)
        if poll is not None:
            poll.cancel()
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        if waiter.future.done() and not waiter.future.cancelled():
            if waiter.future.exception() is None:
                self.release(waiter.future.result())
        else:
            waiter.future.cancel()
            self._chore(self._unqueue(waiter.id))

    async def _unqueue(self, waiter_id: str) -> None:
        # Its place and its place's expiry: an idle line would keep a stale expiry for ever.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrem(_key("queue"), waiter_id)
            pipe.zrem(_key("queue-expiries"), waiter_id)
            await pipe.execute()

    def release(self, backend: Backend, failed: bool = False) -> None:
        leases = self._held.get(backend)
        if leases:
            self._chore(self._redis.zrem(_lease_key(backend), leases.pop()))
        super().release(backend, failed)

    def learn(self, backend: Backend, said: Advertisement) -> None:
        super().learn(backend, said)
        # What this session said, for every replica; the renewals write it back if Redis
        # loses it (``_share_counts``).
        learned = _key("learned-slots")
        self._chore(self._redis.hset(learned, _field(backend), backend.slots))
        self._chore(self._redis.pexpire(learned, _LEARNED_TTL_MS))

    def _dispatch(self) -> None:
        # Slots are booked by each waiter's poll; a slot freed here wakes them now.
        self._freed.set()
        self._freed = asyncio.Event()

    async def _poll(self, waiter: Waiter) -> None:
        try:
            while not waiter.future.done():
                # Not wait_for: before Python 3.12 it can swallow the cancel of a waiter
                # leaving as a slot frees, and the poll would book for nobody.
                freed = asyncio.ensure_future(self._freed.wait())
                try:
                    await asyncio.wait({freed}, timeout=_POLL_S)
                finally:
                    freed.cancel()
                await self._try(waiter)
        except SessionEnd as end:
            if not waiter.future.done():
                waiter.future.set_exception(end)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def _try(self, waiter: Waiter) -> None:
        """Book a slot for ``waiter`` if it is at the head of the line, else learn its place."""
        if waiter.future.done():
            return
        backends = sorted(
            (b for b in self._backends if not b.retired), key=lambda b: b.last_failure
        )
        keys = [_key("queue"), _key("queue-expiries"), *(_key(name) for name in fence.NAMES)]
        keys += [_key("learned-slots"), *(_lease_key(b) for b in backends)]
        args: list[str | int] = [waiter.id, waiter.ticket, self._ttl_ms]
        for backend in backends:
            args += [backend.slots, 0 if backend in waiter.avoid else 1, _field(backend)]

        def take_back(result: list[int]) -> Awaitable[object]:
            # What the script did for a waiter that left while it ran: a lease (its
            # backend's set is KEYS[booked + 5]) or a place in line. ``leave`` removed the
            # place already, but the script may have reached Redis after that removal.
            booked = int(result[0])
            if booked:
                return self._redis.zrem(keys[booked + 4], waiter.id)
            return self._unqueue(waiter.id)

        try:
            result = await guarded(self._book(keys=keys, args=args), take_back, self._chore)
        except RedisError as exc:
            raise self._down(exc) from exc
        self._up()
        # It left while the script ran. Every leave cancels the poll first, so ``guarded``
        # takes back; this is for a waiter whose wait ended without that (set_result on it
        # would raise).
        if waiter.future.done():
            self._chore(take_back(result))
            return
        booked, position, slots = result
        if booked:
            backend = backends[int(booked) - 1]
            backend.slots = int(slots)  # as another replica learned it, if one did
            backend.active += 1
            self._held.setdefault(backend, []).append(waiter.id)
            waiter.future.set_result(backend)
        elif int(position) != waiter.position:
            waiter.position = int(position)
            waiter.positions.put_nowait(waiter.position)

    async def _renew_leases(self) -> None:
        while True:
            held = [(_lease_key(b), lease) for b, ids in self._held.items() for lease in ids]
            held += self._clients.held()
            try:
                if held:
                    keys = [key for key, _ in held]
                    await self._renew(keys=keys, args=[self._ttl_ms, *(lease for _, lease in held)])
                await self._share_counts()
                self._up()
            except RedisError as exc:
                self._down(exc)
            await asyncio.sleep(self._ttl_ms / 3000)

    async def _share_counts(self) -> None:
        """Write back the slot counts this replica learned where Redis lost them (one that
        another replica learned since stays), and take in what the others learned."""
        learned = _key("learned-slots")
        mine = {_field(b): b.slots for b in self._backends if b.kind is not None}
        async with self._redis.pipeline(transaction=False) as pipe:
            for field, slots in mine.items():
                pipe.hsetnx(learned, field, slots)
            if mine:
                pipe.pexpire(learned, _LEARNED_TTL_MS)
            pipe.hgetall(learned)
            *_, shared = await pipe.execute()
        for backend in self._backends:
            slots = shared.get(_field(backend).encode())
            if slots is not None:
                backend.slots = int(slots)

    def _chore(self, work: Awaitable[object]) -> None:
        """Run a write that nobody waits for; a lost one expires with its TTL anyway."""

        async def run() -> None:
            with contextlib.suppress(RedisError):
                await work

        task: asyncio.Task[object] = asyncio.create_task(run())
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    def _down(self, exc: Exception) -> SessionEnd:
        if self._problem is None:
            log.warning("Redis unreachable: %s; no new session is served until it answers", exc)
        self._problem = f"shared state unreachable: Redis does not answer ({type(exc).__name__})"
        return SessionEnd(UNREACHABLE)

    def _up(self) -> None:
        if self._problem is not None:
            log.info("Redis answers again")
            self._problem = None
