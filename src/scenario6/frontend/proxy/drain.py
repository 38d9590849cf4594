"""The frontend's drain: how it stops without cutting the conversations it holds.

On SIGTERM (``server``) the frontend stops taking sessions and ``GET /ready`` fails, so a load
balancer sends new clients elsewhere; a new upgrade that still reaches it is refused with
HTTP 503 before it is accepted (nginx's ``proxy_next_upstream http_503`` passes it on to
another replica; a browser sees a failed connection and reconnects); clients still waiting
in line are closed with ``RESTARTING`` (1012), which clients take as "reconnect", and land on
another replica; live conversations go on until they end, or until ``DRAIN_TIMEOUT_S`` has
passed, when they are closed with ``GOING_AWAY`` (1001). Then the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from starlette.responses import PlainTextResponse

from . import closes
from .closes import Close

log = logging.getLogger("scenario6.frontend.drain")
# Sessions cut at the drain timeout close their backend's session first: this long at most.
CUT_GRACE_S = 5.0
TURNED_AWAY = Close(closes.RESTARTING, "server restarting: reconnect to reach another")
# What a refused upgrade is told: another replica answers at once, the same one never again.
RETRY_AFTER_S = 1


def refusal() -> PlainTextResponse:
    """The answer to an upgrade that reaches a draining frontend."""
    return PlainTextResponse(
        f"{TURNED_AWAY.reason}\n", status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
    )


class Drain:
    """Counts the sessions a frontend holds and, once begun, waits for them to end.

    >>> drain = Drain(timeout_s=60)
    >>> with drain.session():
    ...     drain.live
    1
    >>> drain.draining
    False
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.begun = asyncio.Event()  # no more sessions; queued clients sent away
        self.expired = asyncio.Event()  # the live ones are cut too
        self._idle = asyncio.Event()
        self._idle.set()
        self.live = 0

    @property
    def draining(self) -> bool:
        return self.begun.is_set()

    def cut(self) -> Close:
        """How a conversation still live at the drain timeout is closed."""
        waited = f"{self.timeout_s:g}"
        return Close(closes.GOING_AWAY, f"server shutting down: drain time of {waited}s is over")

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Hold the drain open while a session (queued or live) runs."""
        self.live += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.live -= 1
            if not self.live:
                self._idle.set()

    async def run(self) -> None:
        """Begin draining; return once every session has ended, or has been cut."""
        self.begun.set()
        log.info("draining: no new sessions; %d open, waiting up to %gs", self.live, self.timeout_s)
        idle = asyncio.ensure_future(self._idle.wait())
        try:
            done, _ = await asyncio.wait({idle}, timeout=self.timeout_s)
            if not done:
                log.warning("drain time is over: closing %d sessions", self.live)
                self.expired.set()
                await asyncio.wait({idle}, timeout=CUT_GRACE_S)
        finally:
            idle.cancel()
        log.info("drained")
