"""Wrong sign-in codes per client address, per network and in all, so that codes cannot be
guessed at speed.

A code is checked only after a try was reserved against every limit, and the try is taken
back when the code was right: two requests racing each other never both get the last try.
"""

from __future__ import annotations

import ipaddress
import math
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

WINDOW_S = 60.0
# Addresses and networks remembered at most: a flood from many addresses must not grow memory
# for ever. Past it the oldest are forgotten, which the total over all clients makes up for.
_MAX_ADDRESSES = 10_000


@dataclass(frozen=True)
class Verdict:
    """A try let through (``ticket`` takes it back), or refused for ``retry_after`` seconds
    (``everyone``: by the wrong codes of all clients together, not this one's own)."""

    ticket: str | None = None
    retry_after: int = 0
    everyone: bool = False


class Unavailable(Exception):
    """Wrong codes cannot be counted now: no code may be checked either."""


class Attempts(Protocol):
    """Where wrong codes are counted: in this process, or in Redis for every replica."""

    async def reserve(self, address: str) -> Verdict:
        """Count a try by ``address`` as a wrong code now, unless a limit refuses it."""

    async def take_back(self, address: str, ticket: str) -> None:
        """Uncount the try ``ticket``: its code was right."""


def scopes(address: str, per_address: int, per_network: int) -> list[tuple[str, int]]:
    """What ``address``'s wrong codes count against, with each one's limit: the address, or
    for IPv6 its /64 and its /48.

    >>> scopes("2001:db8::1", 5, 20)
    [('2001:db8::/64', 5), ('2001:db8::/48', 20)]
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return [(address, per_address)]
    if not isinstance(parsed, ipaddress.IPv6Address) or parsed.ipv4_mapped is not None:
        return [(address, per_address)]
    return [
        (str(ipaddress.IPv6Network((parsed, 64), strict=False)), per_address),
        (str(ipaddress.IPv6Network((parsed, 48), strict=False)), per_network),
    ]


class FailedAttempts:
    """Counts wrong codes over the last minute and says when to try again, at three levels:
    each address (an IPv6 address counts as its /64: one subscriber usually holds a whole
    /64), each IPv6 /48 (one site or provider customer may hold 65,536 /64s), and all clients
    together, the last line against guessers with more addresses than anyone can count.

    >>> now = [0.0]
    >>> attempts = FailedAttempts(2, per_network=3, total=5, clock=lambda: now[0])
    >>> attempts.failed("10.0.0.7"); attempts.failed("10.0.0.7"); attempts.retry_after("10.0.0.7")
    60
    >>> now[0] = 61.0; attempts.retry_after("10.0.0.7")
    0
    >>> attempts.failed("2001:db8::1"); attempts.failed("2001:db8::2")
    >>> attempts.retry_after("2001:db8::3"), attempts.retry_after("2001:db8:0:1::1")
    (60, 0)
    >>> attempts.failed("2001:db8:0:1::1"); attempts.retry_after("2001:db8:0:2::1")
    60
    >>> attempts.everyone_waits(); attempts.failed("10.0.0.8"); attempts.failed("10.0.0.9")
    0
    >>> attempts.everyone_waits()
    60
    """

    def __init__(
        self,
        per_address: int,
        per_network: int,
        total: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_address = per_address
        self._per_network = per_network
        self._total_limit = total
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        # Kept apart from the addresses, so that no flood can push it out.
        self._total: deque[float] = deque()

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` may try again, by its own and its network's wrong codes;
        0: now."""
        waits = (self._wait(self._recent(key), limit) for key, limit in self._scopes(address))
        return max(waits, default=0)

    def everyone_waits(self) -> int:
        """Seconds until anyone may try again, once all clients together used up the total;
        0: now."""
        return self._wait(self._trimmed(self._total), self._total_limit)

    def failed(self, address: str) -> None:
        self._count(address)

    def _count(self, address: str) -> float:
        """Count a wrong code by ``address``; returns when it was counted."""
        now = self._clock()
        self._total.append(now)
        for key, _ in self._scopes(address):
            times = self._recent(key)
            times.append(now)
            self._seen[key] = times
            self._seen.move_to_end(key)
        while len(self._seen) > _MAX_ADDRESSES:
            self._seen.popitem(last=False)
        return now

    async def reserve(self, address: str) -> Verdict:
        # Nothing is awaited in here: no other request runs between the checks and the count.
        paused = self.everyone_waits()
        if paused:
            return Verdict(retry_after=paused, everyone=True)
        wait = self.retry_after(address)
        if wait:
            return Verdict(retry_after=wait)
        return Verdict(ticket=repr(self._count(address)))

    async def take_back(self, address: str, ticket: str) -> None:
        counted = float(ticket)
        for times in (self._total, *(self._seen.get(key) for key, _ in self._scopes(address))):
            if times is not None and counted in times:
                times.remove(counted)

    def _scopes(self, address: str) -> list[tuple[str, int]]:
        return scopes(address, self._per_address, self._per_network)

    def _wait(self, times: deque[float], limit: int) -> int:
        if len(times) < limit:
            return 0
        return max(1, math.ceil(times[0] + WINDOW_S - self._clock()))

    def _recent(self, key: str) -> deque[float]:
        times = self._trimmed(self._seen.get(key, deque()))
        if not times:
            self._seen.pop(key, None)
        return times

    def _trimmed(self, times: deque[float]) -> deque[float]:
        horizon = self._clock() - WINDOW_S
        while times and times[0] <= horizon:
            times.popleft()
        return times


# KEYS: the total, then each scope's sorted set of tries (by when, in ms). ARGV: the window
# (ms), the try's ticket, the total's limit, then each scope's limit.
# Returns {seconds to wait, 1 if for everyone}; {0, 0}: the try is counted.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local function wait(key, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) < limit then
    return 0
  end
  local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
  return math.max(1, math.ceil((oldest + window - now) / 1000))
end
local paused = wait(KEYS[1], tonumber(ARGV[3]))
if paused > 0 then
  return {paused, 1}
end
local longest = 0
for i = 2, #KEYS do
  longest = math.max(longest, wait(KEYS[i], tonumber(ARGV[i + 2])))
end
if longest > 0 then
  return {longest, 0}
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], window)
end
return {0, 0}
"""


class SharedAttempts:
    """Wrong codes counted in Redis (``REDIS_URL``), so that the limits hold for all frontend
    replicas together: one script checks every limit and counts the try, so parallel
    requests to several replicas get no more tries than one replica would give.

    Each key expires a window after its last try; a Redis that does not answer refuses
    every sign-in (``Unavailable``) rather than let codes be guessed without a limit.
    """

    def __init__(
        self, redis: Redis, prefix: str, per_address: int, per_network: int, total: int
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}signin:"
        self._per_address = per_address
        self._per_network = per_network
        self._total = total
        self._reserve = redis.register_script(_RESERVE)

    async def reserve(self, address: str) -> Verdict:
        ticket = uuid.uuid4().hex
        scoped = scopes(address, self._per_address, self._per_network)
        keys = [f"{self._prefix}total", *(self._prefix + key for key, _ in scoped)]
        window_ms = int(WINDOW_S * 1000)
        try:
            wait, everyone = await self._reserve(
                keys=keys, args=[window_ms, ticket, self._total, *(n for _, n in scoped)]
            )
        except RedisError as exc:
            raise Unavailable(f"Redis does not answer ({type(exc).__name__})") from exc
        if wait:
            return Verdict(retry_after=int(wait), everyone=bool(everyone))
        return Verdict(ticket=ticket)

    async def take_back(self, address: str, ticket: str) -> None:
        scoped = scopes(address, self._per_address, self._per_network)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in ("total", *(key for key, _ in scoped)):
                    pipe.zrem(self._prefix + key, ticket)
                await pipe.execute()
        except RedisError:
            # The right code stands; the try stays counted until its window ends.
            pass
