"""Sessions per client address, so that one client cannot take every backend and the queue."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from . import closes, fence
from .closes import Close
from .downstream import SessionEnd
from .redis_call import guarded

# KEYS: the client's sessions (a sorted set by expiry), then the fence's two keys; ARGV:
# session id, limit, TTL (ms). Returns 1 admitted, 0 over the limit, -1 ask again later.
_ADMIT = (
    fence.lua(2, 3)
    + """
if paused then
  return -1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""
)
# How often a client waiting out the fence asks again.
_FENCE_POLL_S = 0.2

UNREACHABLE = Close(closes.SHARED_STATE_UNREACHABLE, "shared state unreachable")


class ClientSessions:
    """Counts the sessions each client address holds or waits for, up to ``limit``.

    >>> import asyncio
    >>> clients = ClientSessions(limit=2)
    >>> asyncio.run(clients.admit("10.0.0.7")), asyncio.run(clients.admit("10.0.0.7"))
    (True, True)
    >>> asyncio.run(clients.admit("10.0.0.7"))
    False
    >>> clients.leave("10.0.0.7"); asyncio.run(clients.admit("10.0.0.7"))
    True
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count: Counter[str] = Counter()

    async def admit(self, client: str) -> bool:
        if self._count[client] >= self.limit:
            return False
        self._count[client] += 1
        return True

    def leave(self, client: str) -> None:
        self._count[client] -= 1
        if self._count[client] <= 0:
            del self._count[client]


class SharedClientSessions(ClientSessions):
    """The same count kept in Redis, over every frontend replica.

    Each session is a member of its client's sorted set, scored by when it expires: the
    replica renews it (``held``) while the session lives, so a killed replica's sessions stop
    counting within the lease TTL. After Redis came back empty, a client is admitted once
    the fence is over (:mod:`.fence`), when every replica has written its sessions back.
    """

    def __init__(
        self,
        limit: int,
        redis: Redis,
        ttl_ms: int,
        prefix: str,
        chore: Callable[[Awaitable[object]], None],
    ) -> None:
        """``chore`` runs a write that nobody waits for."""
        super().__init__(limit)
        self._redis = redis
        self._chore = chore
        self._ttl_ms = ttl_ms
        self._prefix = prefix
        self._admit = redis.register_script(_ADMIT)
        self._ids: dict[str, list[str]] = {}

    def key(self, client: str) -> str:
        return f"{self._prefix}client:{client}"

    def held(self) -> list[tuple[str, str]]:
        """(key, session id) of every session this replica counts, to renew."""
        return [(self.key(client), id) for client, ids in self._ids.items() for id in ids]

    async def admit(self, client: str) -> bool:
        session = uuid.uuid4().hex
        keys = [self.key(client), *(self._prefix + name for name in fence.NAMES)]
        try:
            while True:
                admitted = await guarded(
                    self._admit(keys=keys, args=[session, self.limit, self._ttl_ms]),
                    lambda result: self._redis.zrem(keys[0], session) if result == 1 else None,
                    self._chore,
                )
                if admitted >= 0:
                    break
                # Redis came back empty: the client's count is whole again within a lease TTL.
                await asyncio.sleep(_FENCE_POLL_S)
        except RedisError as exc:
            raise SessionEnd(UNREACHABLE) from exc
        if admitted:
            self._ids.setdefault(client, []).append(session)
        return bool(admitted)

    def leave(self, client: str) -> None:
        ids = self._ids.get(client, [])
        if ids:
            self._chore(self._redis.zrem(self.key(client), ids.pop()))
        if not ids:
            self._ids.pop(client, None)
