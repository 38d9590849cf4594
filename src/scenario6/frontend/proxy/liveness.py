"""Whether a live session is still a conversation: a client that talks, a backend that answers.

PersonaPlex answers audio with audio, 80 ms for 80 ms, and sends nothing while its client
pauses (a muted or paused client sends nothing). So the backend is stalled only when it has
left a stretch of the client's talking unanswered: the time the client spent sending since
the backend last answered, pauses left out, reaches the stall timeout. A client that talks
in bursts (push to talk, a flaky link) is measured the same way; one that sends less than a
frame and falls silent is not, since upstream never answers a partial frame. A client is
idle when it has sent no audio for a long while, whatever the backend does.
"""

from __future__ import annotations

from . import closes
from .closes import Close

# Client audio this far apart is a pause: at most this much of a gap counts as talking.
PAUSE_S = 1.0


class Liveness:
    """The idle and stall clocks of one session; times are ``time.monotonic()`` values.

    >>> clock = Liveness(idle_s=30, stall_s=15, now=0.0)
    >>> clock.sent(1.0); clock.sent(1.08); clock.check(1.5)
    (None, 1.0)
    >>> clock.check(40.0)[0].code
    4408
    """

    def __init__(self, idle_s: float, stall_s: float, now: float) -> None:
        self.idle_s = idle_s
        self.stall_s = stall_s
        self._last_audio = now
        self._unanswered = False  # audio went out that the backend has not answered yet
        self._unanswered_s = 0.0  # talking time since the backend last answered

    def restart(self, now: float) -> None:
        """The backend is live (its handshake): the client's idle clock starts now."""
        self._last_audio = now

    def sent(self, now: float) -> None:
        """Client audio went to the backend."""
        if self._unanswered:
            self._unanswered_s += min(now - self._last_audio, PAUSE_S)
        self._unanswered = True
        self._last_audio = now

    def answered(self) -> None:
        """The backend sent something a client acts on."""
        self._unanswered = False
        self._unanswered_s = 0.0

    def check(self, now: float) -> tuple[Close | None, float]:
        """Why the session must end now (or None), and when to check again."""
        if self._unanswered_s >= self.stall_s:
            reason = f"backend stalled: no answer to {self.stall_s:g}s of audio"
            return Close(closes.BACKEND_CLOSED, reason), 0.0
        idle_left = self._last_audio + self.idle_s - now
        if idle_left <= 0:
            reason = f"idle: no audio from the client for {self.idle_s:g}s"
            return Close(closes.IDLE, reason), 0.0
        # Talking time grows no faster than the clock: the stall is due no sooner than this.
        stall_left = self.stall_s - self._unanswered_s if self._unanswered else PAUSE_S
        return None, max(0.01, min(idle_left, stall_left, PAUSE_S))
