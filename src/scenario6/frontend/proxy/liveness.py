"""Whether a live session is still a conversation: a client that talks, a backend that answers.

PersonaPlex answers audio with audio, 80 ms for 80 ms, and sends nothing while its client
pauses (a muted or paused client sends nothing). So the backend is stalled only when it
stays silent while the client's audio keeps flowing; a client is idle when it has sent no
audio for a long while, whatever the backend does.
"""

from __future__ import annotations

from . import closes
from .closes import Close

# Client audio this far apart is a pause, not a flow the backend must keep answering.
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
        # When the backend was first sent audio it has not answered yet; None: all answered.
        self._unanswered_since: float | None = None

    def restart(self, now: float) -> None:
        """The backend is live (its handshake): the client's idle clock starts now."""
        self._last_audio = now

    def sent(self, now: float) -> None:
        """Client audio went to the backend."""
        if self._unanswered_since is None or now - self._last_audio > PAUSE_S:
            self._unanswered_since = now
        self._last_audio = now

    def answered(self) -> None:
        """Something came from the backend."""
        self._unanswered_since = None

    def check(self, now: float) -> tuple[Close | None, float]:
        """Why the session must end now (or None), and when to check again."""
        flowing = now - self._last_audio <= PAUSE_S
        since = self._unanswered_since if flowing else None
        if since is not None and now - since >= self.stall_s:
            reason = f"backend stalled: no answer to {self.stall_s:g}s of audio"
            return Close(closes.BACKEND_CLOSED, reason), 0.0
        idle_left = self._last_audio + self.idle_s - now
        if idle_left <= 0:
            reason = f"idle: no audio from the client for {self.idle_s:g}s"
            return Close(closes.IDLE, reason), 0.0
        stall_left = since + self.stall_s - now if since is not None else PAUSE_S
        return None, max(0.01, min(idle_left, stall_left, PAUSE_S))
