"""A model server's Prometheus metrics (the loopback's and the batched server's alike).

One registry per server; slot counts are read from the server when Prometheus scrapes.
``METRICS_PORT`` turns the HTTP endpoint on; the instruments exist either way, so a server
records into them without asking whether anyone reads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from scenario6.facts.names import METRICS_ENV

log = logging.getLogger("scenario6.backend.metrics")
PREFIX = "scenario6_backend"
# One model step is due every 80 ms: the buckets resolve well below and around it.
TICK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.12, 0.2, 0.5, 1)
PROMPT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)


def metrics_port(env: Mapping[str, str] | None = None) -> int:
    """The port ``METRICS_PORT`` names, 0 (off) when unset.

    >>> metrics_port({"METRICS_PORT": "9464"})
    9464
    """
    value = (os.environ if env is None else env).get(METRICS_ENV, "").strip() or "0"
    try:
        port = int(value)
    except ValueError:
        raise ValueError(f"{METRICS_ENV} must be a port number, not {value!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"{METRICS_ENV} must be between 0 and 65535, not {port}")
    return port


class _Slots(Collector):
    def __init__(self, slots: Callable[[], tuple[int, int]]) -> None:
        self._slots = slots

    def collect(self) -> Iterable[Metric]:
        used, total = self._slots()
        family = GaugeMetricFamily(
            f"{PREFIX}_slots", "Conversation slots, used and free.", labels=["state"]
        )
        family.add_metric(["used"], used)
        family.add_metric(["free"], max(0, total - used))
        yield family


class BackendMetrics:
    """The instruments; ``slots`` returns (used, total) when asked.

    >>> metrics = BackendMetrics(lambda: (1, 4))
    >>> metrics.tick.observe(0.012)
    """

    def __init__(self, slots: Callable[[], tuple[int, int]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Slots(slots))
        self.tick = Histogram(
            f"{PREFIX}_tick_seconds",
            "Time one step (one 80 ms frame for every conversation held) took.",
            buckets=TICK_BUCKETS,
            registry=self.registry,
        )
        self.frames_late = Counter(
            f"{PREFIX}_frames_late",
            "Output frames sent more than one frame's time after they were due.",
            registry=self.registry,
        )
        self.prompt = Histogram(
            f"{PREFIX}_prompt_seconds",
            "Time a conversation's prompt phase took, up to its handshake.",
            buckets=PROMPT_BUCKETS,
            registry=self.registry,
        )

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` from a daemon thread for the life of the process."""
        start_http_server(port, host, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", host, port)
