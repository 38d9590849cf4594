"""What a user asks ``scenario6 publish`` for: backend, GPU, HTTPS, images."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scenario6.facts.kinds import BATCHED, LOOPBACK, MODEL_BACKENDS, PERSONAPLEX, Backend
from scenario6.facts.slots import AUTO, SLOTS_ENV, Slots
from scenario6.facts.stack import Stack


@dataclass(frozen=True)
class PublishOptions:
    """Choices that shape the published files; defaults give the production set-up.

    >>> PublishOptions(backend="loopback").gpu
    True
    """

    apphost: Path = Path("apphost.py")
    output: Path = Path("deploy")
    backend: Backend = PERSONAPLEX
    slots: Slots = AUTO  # what each batched backend holds at once (other backends hold one)
    gpu: bool = True
    https: bool = True
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_names: tuple[str, ...] = ()
    backend_tls: bool = False
    base_image: str | None = None
    images: dict[str, str] = field(default_factory=dict)
    cache_size: str = "40Gi"
    # A Prometheus Operator ServiceMonitor beside the scrape annotations (Kubernetes).
    service_monitor: bool = False
    # Frontend replicas; more than one share their state on Redis behind a load balancer.
    frontends: int = 1
    # REDIS_URL from .env or a Secret (a Redis of the user's own) instead of a Redis service.
    redis_url_secret: bool = False

    @property
    def stack(self) -> Stack:
        """What the app model publishes: the chosen backend's image and the frontend's."""
        return Stack(self.backend, "container", "docker")

    def overrides(self) -> dict[str, str]:
        """Settings the app model reads, so that its publish mode matches these options."""
        values = {
            "USE_GPU": "1" if self.gpu and self.backend in MODEL_BACKENDS else "0",
            "MOSHI_USE_SSL": "1" if self.backend_tls else "0",
        }
        if self.batched:
            values[SLOTS_ENV] = str(self.slots)
        if self.base_image:
            values["SCENARIO6_BASE_IMAGE"] = self.base_image
        if self.tls_names:
            values["SCENARIO6_TLS_NAMES"] = ",".join(self.tls_names)
        return values

    @property
    def batched(self) -> bool:
        """A backend that holds :attr:`slots` conversations at once."""
        return self.backend == BATCHED

    @property
    def replicated(self) -> bool:
        """Several frontends: they share their state on Redis."""
        return self.frontends > 1

    @property
    def demo(self) -> bool:
        """The loopback backend: no GPU, no model; it echoes what it hears."""
        return self.backend == LOOPBACK
