"""Wrong sign-in codes per client address, so that codes cannot be guessed at speed."""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_S = 60.0
# Addresses remembered at most: a flood from many addresses must not grow memory for ever.
_MAX_ADDRESSES = 10_000


class FailedAttempts:
    """Counts wrong codes per address over the last minute and says when to try again.

    An IPv6 address counts as its /64: one subscriber usually holds a whole /64, and would
    otherwise have billions of allowances.

    >>> now = [0.0]
    >>> attempts = FailedAttempts(per_minute=2, clock=lambda: now[0])
    >>> attempts.failed("10.0.0.7"); attempts.failed("10.0.0.7"); attempts.retry_after("10.0.0.7")
    60
    >>> now[0] = 61.0; attempts.retry_after("10.0.0.7")
    0
    >>> attempts.failed("2001:db8::1"); attempts.failed("2001:db8::2")
    >>> attempts.retry_after("2001:db8::3"), attempts.retry_after("2001:db8:0:1::1")
    (60, 0)
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` may try again; 0: now."""
        times = self._recent(_key(address))
        if len(times) < self._limit:
            return 0
        return max(1, math.ceil(times[0] + WINDOW_S - self._clock()))

    def failed(self, address: str) -> None:
        address = _key(address)
        times = self._recent(address)
        times.append(self._clock())
        self._seen[address] = times
        self._seen.move_to_end(address)
        while len(self._seen) > _MAX_ADDRESSES:
            self._seen.popitem(last=False)

    def _recent(self, address: str) -> deque[float]:
        times = self._seen.get(address, deque())
        horizon = self._clock() - WINDOW_S
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            self._seen.pop(address, None)
        return times


def _key(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return address
