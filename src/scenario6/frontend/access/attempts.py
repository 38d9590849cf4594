"""Wrong sign-in codes per client address, per network and in all, so that codes cannot be
guessed at speed."""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_S = 60.0
# Addresses and networks remembered at most: a flood from many addresses must not grow memory
# for ever. Past it the oldest are forgotten, which the total over all clients makes up for.
_MAX_ADDRESSES = 10_000


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
        now = self._clock()
        self._total.append(now)
        for key, _ in self._scopes(address):
            times = self._recent(key)
            times.append(now)
            self._seen[key] = times
            self._seen.move_to_end(key)
        while len(self._seen) > _MAX_ADDRESSES:
            self._seen.popitem(last=False)

    def _scopes(self, address: str) -> list[tuple[str, int]]:
        """What ``address``'s wrong codes count against, with each one's limit."""
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return [(address, self._per_address)]
        if not isinstance(parsed, ipaddress.IPv6Address) or parsed.ipv4_mapped is not None:
            return [(address, self._per_address)]
        return [
            (str(ipaddress.IPv6Network((parsed, 64), strict=False)), self._per_address),
            (str(ipaddress.IPv6Network((parsed, 48), strict=False)), self._per_network),
        ]

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
