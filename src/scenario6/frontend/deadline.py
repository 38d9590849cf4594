"""A connection's deadline: one timer, armed until it fires or is cancelled (``serving``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Deadline:
    """Calls ``action`` ``seconds`` after ``arm``, unless cancelled first.

    >>> loop = asyncio.new_event_loop()
    >>> fired = []
    >>> deadline = Deadline(loop, 0.01, lambda: fired.append(True))
    >>> deadline.arm(); deadline.arm()  # armed once: the second call keeps the first time
    >>> loop.run_until_complete(asyncio.sleep(0.05)); loop.close()
    >>> fired, deadline.armed
    ([True], False)
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, seconds: float, action: Callable[[], None]
    ) -> None:
        self._loop = loop
        self._seconds = seconds
        self._action = action
        self._handle: asyncio.TimerHandle | None = None

    @property
    def armed(self) -> bool:
        return self._handle is not None

    def arm(self) -> None:
        if self._handle is None:
            self._handle = self._loop.call_later(self._seconds, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None  # the action may arm it again
        self._action()
