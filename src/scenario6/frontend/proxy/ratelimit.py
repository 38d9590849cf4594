"""A token bucket: tolerates the bursts of a real client, stops floods."""

from __future__ import annotations

import time


class TokenBucket:
    """Allows ``rate`` events per second on average and bursts of up to ``burst``.

    >>> bucket = TokenBucket(rate=1.0, burst=2)
    >>> bucket.take(), bucket.take(), bucket.take()
    (True, True, False)
    """

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
