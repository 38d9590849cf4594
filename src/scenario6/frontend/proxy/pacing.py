"""A client's audio paced to real time by its own length, so that no one can queue hours of it.

PersonaPlex works through whatever it is sent, 80 ms per step, and memory grows with what
waits: a client sending faster than it speaks would make the backend (and every conversation
batched with it) fall behind. The length counted is the Opus packets' own, from the handshake
on. A client may run up to ``burst_s`` ahead of real time, what a catch-up after a network
stall needs, and that goes on at once; up to as much again is held back here and passed on in
real time (so a client slightly ahead is slowed down, not closed); beyond that it is flooding,
and is closed with AUDIO_TOO_FAST.
"""

from __future__ import annotations

from collections import deque

from scenario6.protocol.opus import Counter

from . import closes
from .closes import Close
from .downstream import SessionEnd

# Far more than seconds of real Opus (tens of kB/s at most): held messages that claim little
# audio in many bytes cannot make the proxy keep them either.
MAX_HELD_BYTES = 1 << 20


class Pacer:
    """Decides when each audio message may go to the backend, and holds those that must wait.

    A token bucket counted in seconds of audio: full (``burst_s``) at the handshake, refilled
    by the clock, emptied by what the client sends.

    >>> pacer = Pacer(burst_s=1.0, now=0.0)
    >>> pacer.credit(0.5, now=0.0), pacer.credit(0.75, now=0.0), pacer.credit(0.25, now=1.0)
    (0.5, -0.25, 0.5)
    """

    def __init__(self, burst_s: float, now: float) -> None:
        self.burst_s = burst_s
        self._credit = burst_s
        self._stamp = now
        self._held: deque[tuple[float, bytes]] = deque()
        self._held_bytes = 0
        self._counter = Counter()

    def credit(self, seconds: float, now: float) -> float:
        """Take ``seconds`` of audio from the bucket; what is left (negative: ahead of it)."""
        self._credit = min(self.burst_s, self._credit + now - self._stamp) - seconds
        self._stamp = now
        return self._credit

    def take(self, message: bytes, now: float) -> bool:
        """Whether ``message`` (an audio message, kind byte first) may go at once; if not it
        is held. Raises OggError for one whose audio cannot be counted, SessionEnd for a
        client that floods."""
        left = self.credit(self._counter.count(message, 1), now)
        if left >= 0 and not self._held:
            return True
        if -left > self.burst_s or self._held_bytes + len(message) > MAX_HELD_BYTES:
            raise SessionEnd(
                Close(
                    closes.AUDIO_TOO_FAST,
                    f"audio faster than real time: over {2 * self.burst_s:g} s ahead",
                )
            )
        self._held.append((now - min(left, 0.0), message))
        self._held_bytes += len(message)
        return False

    def release(self, now: float) -> bytes | None:
        """The next held message if it is due now."""
        if not self._held or self._held[0][0] > now:
            return None
        _, message = self._held.popleft()
        self._held_bytes -= len(message)
        return message

    def wait(self, now: float) -> float | None:
        """Seconds until the next held message is due; None when nothing is held."""
        return max(0.0, self._held[0][0] - now) if self._held else None
