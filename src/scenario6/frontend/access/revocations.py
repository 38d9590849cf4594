"""Sign-in cookies revoked by a sign-out, remembered until they would have expired anyway."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

# Revocations held at most. Each needs a sign-out with a valid cookie, that is, a valid code:
# only someone invited could fill this, and the oldest (first to expire) are dropped first.
_MAX_REVOKED = 100_000


class Revocations(Protocol):
    """Where revoked cookie ids are kept. Frontend replicas that share their sign-ins need one
    shared store; a single frontend keeps them in memory."""

    def revoke(self, cookie_id: str, until: float, now: float) -> None:
        """Refuse ``cookie_id`` from now until ``until`` (when it expires anyway)."""

    def revoked(self, cookie_id: str, now: float) -> bool:
        """Whether ``cookie_id`` was revoked."""


class MemoryRevocations:
    """Revocations in this process's memory: a restart forgets them.

    >>> store = MemoryRevocations()
    >>> store.revoke("abc", until=100.0, now=0.0); store.revoked("abc", 50.0)
    True
    >>> store.revoke("def", until=300.0, now=200.0); store.revoked("abc", 250.0)
    False
    """

    def __init__(self, limit: int = _MAX_REVOKED) -> None:
        self._limit = limit
        self._until: OrderedDict[str, float] = OrderedDict()

    def revoke(self, cookie_id: str, until: float, now: float) -> None:
        self._until[cookie_id] = max(until, self._until.get(cookie_id, until))
        # In the order revoked, which is about the order they expire in.
        while self._until and (next(iter(self._until.values())) <= now):
            self._until.popitem(last=False)
        while len(self._until) > self._limit:
            self._until.popitem(last=False)

    def revoked(self, cookie_id: str, now: float) -> bool:
        until = self._until.get(cookie_id)
        return until is not None and now < until
