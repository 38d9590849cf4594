"""The pool of backends: each serves as many sessions as it holds, everyone else waits in line.

Upstream assigns a connection's prompts before taking its session lock, so a second
connection to a busy server would rewrite the prompts of the conversation in progress.
The pool therefore never hands out a backend that is full (PersonaPlex: one session);
clients queue here instead, first come, first served. A backend that holds several
conversations says how many in its upgrade response, and the pool believes it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scenario6.facts.slots import SLOTS_HEADER
from scenario6.facts.urls import BackendUrl

from ..settings import FrontendSettings
from .clients import ClientSessions

if TYPE_CHECKING:
    from .advertisement import Advertisement

log = logging.getLogger("scenario6.frontend.pool")


@dataclass(eq=False)
class Backend:
    """One backend server: a URL, plus the address to dial when its name resolved to several."""

    url: BackendUrl
    address: str | None = None
    # Learned when a session opens: "loopback", "personaplex-batched" or "personaplex".
    kind: str | None = None
    slots: int = 1  # sessions at once: the configured count until the backend says
    active: int = 0
    retired: bool = False  # no longer in DNS; dropped once its session ends
    last_failure: float = 0.0
    malformed_slots: str | None = None  # the last slot count it sent that was not one

    @property
    def busy(self) -> bool:
        return self.active >= self.slots

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.url.url, self.address)

    @property
    def label(self) -> str:
        return self.url.url if self.address is None else f"{self.url.url} ({self.address})"


@dataclass(eq=False)
class Waiter:
    """A client waiting for a backend. ``positions`` receives its 1-based place in line."""

    future: asyncio.Future[Backend] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    positions: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    avoid: frozenset[Backend] = frozenset()  # backends this client already failed to reach
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    position: int = 0  # the last place in line it was told
    ticket: int = 0  # its order in a line shared by several replicas


class BackendPool:
    """Hands out free backends; queues clients when all are busy. State in this process's
    memory: one replica. ``SharedPool`` (proxy/shared.py) keeps it in Redis for several.

    >>> pool = BackendPool(FrontendSettings(moshi_ws_url="ws://gpu-a:8998,ws://gpu-b:8998"))
    >>> len(pool.describe())
    2
    """

    def __init__(self, settings: FrontendSettings) -> None:
        self._urls = settings.backends
        self._refresh_every = settings.dns_refresh_s
        self._default_slots = settings.sessions_per_backend
        self._backends: list[Backend] = [
            Backend(url, slots=self._default_slots) for url in self._urls
        ]
        self._waiters: deque[Waiter] = deque()
        self.clients = ClientSessions(settings.max_sessions_per_client)
        self._resolved_at = float("-inf")

    @property
    def backends(self) -> tuple[Backend, ...]:
        return tuple(self._backends)

    @property
    def queue_length(self) -> int:
        return len(self._waiters)

    @property
    def unavailable(self) -> str | None:
        """Why no new session can be served now (None: they can); memory never fails."""
        return None

    async def start(self) -> None:
        """Begin background work; the app's lifespan calls it."""

    async def close(self) -> None:
        """End background work and connections."""

    def describe(self) -> list[dict[str, object]]:
        """Public view per configured URL, for /api/config: kind, sessions held and open.

        A URL whose name resolves to several replicas adds theirs up; a retired replica
        still counts its open sessions but no longer its slots.
        """
        described = []
        for url in self._urls:
            mine = [b for b in self._backends if b.url == url]
            serving = [b for b in mine if not b.retired]
            known = {b.kind for b in serving} - {None}
            described.append(
                url.describe()
                | {
                    "kind": known.pop() if len(known) == 1 else None,
                    "slots": sum(b.slots for b in serving),
                    "active": sum(b.active for b in mine),
                }
            )
        return described

    def learn(self, backend: Backend, said: Advertisement) -> None:
        """Take in what ``backend`` said about itself as its session opened.

        Its slot count holds from then on; a response without a valid one means the
        configured count (a replaced server must not keep its predecessor's slots).
        A larger count serves waiting clients at once; a smaller one ends no session,
        it only turns new ones away until enough have ended.
        """
        backend.kind = said.kind
        if said.malformed is not None and said.malformed != backend.malformed_slots:
            log.warning(
                "backend %s sent %s %r, not a count of sessions; assuming %d",
                backend.label,
                SLOTS_HEADER,
                said.malformed[:40],  # a header line may be kilobytes long
                self._default_slots,
            )
        backend.malformed_slots = said.malformed
        slots = said.slots or self._default_slots
        if slots != backend.slots:
            log.info("backend %s serves %d sessions at once", backend.label, slots)
            backend.slots = slots
            self._dispatch()

    async def arrival(self) -> int:
        """A client's ticket for the line, taken as it arrives (``enqueue``'s ``ticket``),
        for a line shared by several replicas; this process's own line keeps its own order."""
        return 0

    async def enqueue(self, avoid: frozenset[Backend] = frozenset(), ticket: int = 0) -> Waiter:
        """Join the line. The waiter's future resolves with a backend reserved for it.

        A client coming back after a backend failed it (``avoid``) had already reached the
        head of the line, so it goes back to the head, and is never handed that backend again.
        """
        waiter = Waiter(avoid=avoid)
        if avoid:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        self._dispatch()
        return waiter

    def position(self, waiter: Waiter) -> int:
        """``waiter``'s 1-based place in line (a returning client is first, not last)."""
        return waiter.position

    def leave(self, waiter: Waiter) -> None:
        """Leave the line (client gone or timed out); a backend already handed over goes back."""
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        if waiter.future.done() and not waiter.future.cancelled():
            self.release(waiter.future.result())
        else:
            waiter.future.cancel()
        self._dispatch()

    def release(self, backend: Backend, failed: bool = False) -> None:
        if failed:
            backend.last_failure = time.monotonic()
        backend.active -= 1
        if backend.retired and not backend.active and backend in self._backends:
            self._backends.remove(backend)
        self._dispatch()

    async def refresh(self) -> None:
        """Resolve host names again so that a scaled headless service shows every replica."""
        if time.monotonic() - self._resolved_at < self._refresh_every:
            return
        self._resolved_at = time.monotonic()
        wanted: list[tuple[BackendUrl, str | None]] = []
        for url in self._urls:
            addresses = await _resolve(url)
            if len(addresses) > 1:
                wanted.extend((url, a) for a in addresses)
            else:
                wanted.append((url, None))
        current = {b.key: b for b in self._backends}
        keys = {(u.url, a) for u, a in wanted}
        fresh = [
            current.get((u.url, a)) or Backend(u, a, slots=self._default_slots) for u, a in wanted
        ]
        for backend in self._backends:
            if backend.key not in keys:
                if backend.active:
                    backend.retired = True
                    fresh.append(backend)
                else:
                    log.info("backend %s left DNS; dropped from the pool", backend.label)
        for backend in fresh:
            if backend.key not in current:
                log.info("backend %s joined the pool", backend.label)
        self._backends = fresh
        self._dispatch()

    def _dispatch(self) -> None:
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._waiters.remove(waiter)
                continue
            free = [b for b in self._backends if not b.busy and not b.retired]
            if not free:
                break
            usable = [b for b in free if b not in waiter.avoid]
            if not usable:
                continue  # only backends this client already failed on: the next may take one
            # Prefer backends that have not failed lately, then the least loaded; ties go to
            # configuration order.
            backend = min(usable, key=lambda b: (b.last_failure, b.active))
            self._waiters.remove(waiter)
            backend.active += 1
            waiter.future.set_result(backend)
        for position, waiter in enumerate(self._waiters, start=1):
            waiter.position = position
            waiter.positions.put_nowait(position)


async def _resolve(url: BackendUrl) -> list[str]:
    """IP addresses behind a backend's host name, one family only (IPv4 when there is any).

    ``localhost`` resolves to 127.0.0.1 and ::1, which are one server, not two; a
    Kubernetes headless service resolves to one IPv4 address per replica.
    """
    try:
        ipaddress.ip_address(url.host)
        return [url.host]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            url.host, url.port, type=socket.SOCK_STREAM
        )
    except OSError:
        return [url.host]
    v4 = sorted({str(info[4][0]) for info in infos if info[0] == socket.AF_INET})
    v6 = sorted({str(info[4][0]) for info in infos if info[0] == socket.AF_INET6})
    return v4 or v6 or [url.host]
