"""The frontend's Prometheus metrics: one registry, served on a port of its own.

Sessions report their milestones once, through the observer protocol; the state the pool
already keeps (slots, sessions live, the queue) is read when Prometheus scrapes, never copied.
The server runs on a thread of its own, outside the app: no access gate, no Host check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .observer import Close, SessionTrace

log = logging.getLogger("scenario6.frontend.telemetry")
PREFIX = "scenario6_frontend"
# Seconds: a queue wait or a prompt phase runs from milliseconds (loopback) to minutes.
WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)


class BackendState(Protocol):
    """What the pool knows of one backend (``proxy.pool.Backend``), read at scrape time."""

    @property
    def label(self) -> str: ...

    @property
    def kind(self) -> str | None: ...

    @property
    def slots(self) -> int: ...

    @property
    def active(self) -> int: ...

    @property
    def retired(self) -> bool: ...


def outcome(close: Close | None) -> tuple[str, str]:
    """A session's outcome and close code, as labels.

    >>> outcome(None)
    ('client_left', 'none')
    """
    if close is None:
        return "client_left", "none"
    if close.code >= 4500:
        return "failed", str(close.code)  # the frontend or a backend could not serve it
    if close.code >= 4000:
        return "refused", str(close.code)  # the request or the client broke a rule
    return "closed", str(close.code)


class _PoolCollector(Collector):
    def __init__(self, backends: Callable[[], Sequence[BackendState]], queue: Callable[[], int]):
        self._backends = backends
        self._queue = queue

    def collect(self) -> Iterable[Metric]:
        backends = self._backends()
        queued = GaugeMetricFamily(f"{PREFIX}_sessions_queued", "Clients waiting for a backend.")
        queued.add_metric([], self._queue())
        live = GaugeMetricFamily(f"{PREFIX}_sessions_live", "Sessions holding a backend.")
        live.add_metric([], sum(b.active for b in backends))
        labels = ["backend", "kind"]
        slots = GaugeMetricFamily(
            f"{PREFIX}_backend_slots", "Sessions a backend holds at once.", labels=labels
        )
        active = GaugeMetricFamily(
            f"{PREFIX}_backend_active", "Sessions on a backend now.", labels=labels
        )
        for backend in backends:
            names = [backend.label, backend.kind or "unknown"]
            slots.add_metric(names, 0 if backend.retired else backend.slots)
            active.add_metric(names, backend.active)
        yield from (queued, live, slots, active)


class PrometheusObserver:
    """Counts sessions into a registry of its own (several apps may share a process).

    >>> observer = PrometheusObserver(lambda: (), lambda: 0)
    >>> observer.session(1).ended(None, 10, 20)
    """

    def __init__(
        self, backends: Callable[[], Sequence[BackendState]], queue: Callable[[], int]
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_PoolCollector(backends, queue))
        self.sessions = Counter(
            f"{PREFIX}_sessions",
            "Sessions ended, by outcome and close code.",
            ["outcome", "code"],
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            f"{PREFIX}_queue_wait_seconds",
            "Time a session waited in line for a backend.",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.handshake = Histogram(
            f"{PREFIX}_handshake_seconds",
            "Time from opening a backend session to its handshake (the prompt phase).",
            ["kind"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.first_audio = Histogram(
            f"{PREFIX}_first_audio_seconds",
            "Time from a client's arrival to the first audio it is sent.",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.bytes = Counter(
            f"{PREFIX}_relayed_bytes",
            "Bytes relayed, by direction.",
            ["direction"],
            registry=self.registry,
        )
        self.backend_errors = Counter(
            f"{PREFIX}_backend_errors",
            "Backend sessions that could not open or that the backend broke off.",
            ["backend"],
            registry=self.registry,
        )
        self._server: tuple[WSGIServer, threading.Thread] | None = None

    def session(self, session_id: int) -> SessionTrace:
        return _Trace(self)

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` on ``host:port`` from a daemon thread."""
        self._server = start_http_server(port, host, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", host, port)

    async def shutdown(self) -> None:
        if self._server is not None:
            server, thread = self._server
            server.shutdown()
            server.server_close()
            thread.join(timeout=2)
            self._server = None


class _Trace:
    def __init__(self, metrics: PrometheusObserver) -> None:
        self._m = metrics
        self._started = time.monotonic()
        self._queued: float | None = None
        self._opened: float | None = None
        self._kind = "unknown"
        self._ended = False

    def queued(self, position: int) -> None:
        self._queued = time.monotonic()

    def backend(self, url: str, kind: str | None) -> None:
        first = self._opened is None
        self._opened = time.monotonic()
        self._kind = kind or "unknown"
        if first:  # a second backend after a failed one is no second wait
            # One that never waited counts a zero wait: the histogram tells how many did not.
            waited = self._opened - self._queued if self._queued is not None else 0.0
            self._m.queue_wait.observe(waited)

    def backend_error(self, url: str) -> None:
        self._m.backend_errors.labels(url).inc()

    def handshake(self) -> None:
        if self._opened is not None:
            self._m.handshake.labels(self._kind).observe(time.monotonic() - self._opened)

    def first_audio(self) -> None:
        self._m.first_audio.observe(time.monotonic() - self._started)

    def ended(self, close: Close | None, bytes_in: int, bytes_out: int) -> None:
        if self._ended:
            return
        self._ended = True
        self._m.sessions.labels(*outcome(close)).inc()
        self._m.bytes.labels("client_to_backend").inc(bytes_in)
        self._m.bytes.labels("backend_to_client").inc(bytes_out)
