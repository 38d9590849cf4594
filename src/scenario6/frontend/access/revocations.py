"""Sign-in cookies revoked by a sign-out, remembered until they would have expired anyway."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

# Revocations held at most. Each needs a sign-out with a valid cookie, that is, a valid code:
# only someone invited could fill this.
_MAX_REVOKED = 100_000


class Revocations(Protocol):
    """Where revoked cookie ids are kept. Frontend replicas that share their sign-ins need one
    shared store; a single frontend keeps them in memory."""

    def revoke(self, cookie_id: str, issued: int, until: float, now: float) -> None:
        """Refuse the cookie ``cookie_id``, issued at ``issued``, from now until ``until``
        (when it expires anyway)."""

    def revoked(self, cookie_id: str, issued: int, now: float) -> bool:
        """Whether the cookie ``cookie_id`` issued at ``issued`` was revoked."""


class MemoryRevocations:
    """Revocations in this process's memory: a restart forgets them.

    A full store never forgets a revocation: each id it drops, to make room or once expired,
    raises a watermark to that cookie's issue time, and every cookie issued at or before the
    watermark is refused (its holder signs in again).

    >>> store = MemoryRevocations(limit=1)
    >>> store.revoke("abc", issued=10, until=100.0, now=20.0); store.revoked("abc", 10, 50.0)
    True
    >>> store.revoke("def", issued=30, until=130.0, now=40.0); store.revoked("abc", 10, 50.0)
    True
    >>> store.revoked("ghi", 10, 50.0), store.revoked("jkl", 11, 50.0)
    (True, False)
    """

    def __init__(self, limit: int = _MAX_REVOKED) -> None:
        self._limit = limit
        # id -> (issue time, end of the revocation), in the order revoked.
        self._held: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._refused_up_to: int | None = None

    def revoke(self, cookie_id: str, issued: int, until: float, now: float) -> None:
        earlier = self._held.pop(cookie_id, (issued, until))[1]
        self._held[cookie_id] = (issued, max(until, earlier))
        # The front is about the first to expire, so this is cheap. An expired id leaves the
        # watermark no higher than cookies that have expired too (the max age is the same).
        while self._held and (
            len(self._held) > self._limit or next(iter(self._held.values()))[1] <= now
        ):
            forgotten = self._held.popitem(last=False)[1][0]
            self._refused_up_to = max(forgotten, self._refused_up_to or forgotten)

    def revoked(self, cookie_id: str, issued: int, now: float) -> bool:
        if self._refused_up_to is not None and issued <= self._refused_up_to:
            return True
        held = self._held.get(cookie_id)
        return held is not None and now < held[1]

    def held(self, now: float) -> list[tuple[str, int, float]]:
        """(id, issue time, end) of each revocation still in force, oldest first."""
        return [(i, issued, until) for i, (issued, until) in self._held.items() if until > now]


class SharedRevocations:
    """Revocations that every frontend replica honours, kept in Redis (``REDIS_URL``).

    Checks read a copy in memory, which follows the shared log about once a second: a cookie
    signed out on one replica is refused on the others within that second. Without Redis the
    copy still holds this replica's own sign-outs, and keeps them to share once Redis answers.
    A Redis that comes back empty gets a new epoch (a random id set by the first write): each
    replica then reads the log from its start and writes back every sign-out it holds, so
    that a replica started afterwards learns them too.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        follow_every_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._log = f"{prefix}revoked"  # "id issued until" by sequence number
        self._sequence = f"{prefix}revoked-sequence"
        self._epoch_key = f"{prefix}revoked-epoch"
        self._epoch: bytes | str | None = None  # the log's, when last read
        self._every = follow_every_s
        self._memory = MemoryRevocations()
        self._seen = 0
        self._writes: set[asyncio.Task[None]] = set()
        # Sign-outs not yet in the shared log, oldest first.
        self._unshared: deque[str] = deque(maxlen=_MAX_REVOKED)

    def revoke(self, cookie_id: str, issued: int, until: float, now: float) -> None:
        self._memory.revoke(cookie_id, issued, until, now)
        self._unshared.append(f"{cookie_id} {issued} {until}")
        task = asyncio.create_task(self._share())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def revoked(self, cookie_id: str, issued: int, now: float) -> bool:
        return self._memory.revoked(cookie_id, issued, now)

    async def follow(self) -> None:
        """Take in every replica's sign-outs, for ever; the app's lifespan runs it."""
        while True:
            await self._share()
            with contextlib.suppress(RedisError):
                await self._learn_epoch()
                entries = await self._redis.zrangebyscore(
                    self._log, f"({self._seen}", "+inf", withscores=True
                )
                for entry, sequence in cast("list[tuple[bytes, float]]", entries):
                    cookie_id, issued, until = entry.decode().split()
                    self._memory.revoke(cookie_id, int(issued), float(until), self._clock())
                    self._seen = max(self._seen, int(sequence))
            await asyncio.sleep(self._every)

    async def _share(self) -> None:
        """Write the sign-outs that the shared log lacks; what Redis does not take now waits
        for the next try (the next sign-out, or ``follow``'s next round)."""
        with contextlib.suppress(RedisError):
            while self._unshared:
                entry = self._unshared[0]
                await self._redis.set(self._epoch_key, uuid.uuid4().hex, nx=True)
                await self._learn_epoch()
                sequence = await self._redis.incr(self._sequence)
                await self._redis.zadd(self._log, {entry: sequence})
                # Another write may have taken it meanwhile: an entry written twice is harmless.
                if self._unshared and self._unshared[0] == entry:
                    self._unshared.popleft()
            # The oldest beyond what memory holds would be forgotten on arrival anyway.
            await self._redis.zremrangebyrank(self._log, 0, -_MAX_REVOKED - 1)

    async def _learn_epoch(self) -> None:
        """Read the log's epoch; a new one after another (Redis came back empty) means the
        log is read again from its start, and every sign-out held here is written back."""
        epoch = await self._redis.get(self._epoch_key)
        if epoch == self._epoch:
            return
        if self._epoch is not None:
            held = self._memory.held(self._clock())
            self._unshared.extend(f"{i} {issued} {until}" for i, issued, until in held)
        self._epoch, self._seen = epoch, 0
