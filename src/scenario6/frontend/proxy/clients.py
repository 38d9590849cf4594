"""Sessions per client address, so that one client cannot take every backend and the queue."""

from __future__ import annotations

from collections import Counter


class ClientSessions:
    """Counts the sessions each client address holds or waits for, up to ``limit``.

    >>> clients = ClientSessions(limit=2)
    >>> clients.admit("10.0.0.7"), clients.admit("10.0.0.7"), clients.admit("10.0.0.7")
    (True, True, False)
    >>> clients.leave("10.0.0.7"); clients.admit("10.0.0.7")
    True
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._count: Counter[str] = Counter()

    def admit(self, client: str) -> bool:
        if self._count[client] >= self.limit:
            return False
        self._count[client] += 1
        return True

    def leave(self, client: str) -> None:
        self._count[client] -= 1
        if self._count[client] <= 0:
            del self._count[client]
