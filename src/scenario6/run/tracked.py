"""What the supervisor knows about one resource while it runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenario6.apphost import Resource

from . import states
from .container import ContainerRunner
from .process import ManagedProcess
from .resolve import RunResolver

# Assigning one of these tells the resource model (``on_change``) that the resource changed.
OBSERVED = frozenset(
    {"state", "health", "note", "process", "runner", "restarts", "exit_code", "probe"}
)


@dataclass(frozen=True)
class Probe:
    """The last health probe: when, whether it passed, and what it saw."""

    at: float  # since when probes give this result
    ok: bool
    detail: str


@dataclass
class Tracked:
    """What the supervisor knows about one resource while it runs."""

    resource: Resource
    state: str = states.WAITING
    health: str = "-"
    note: str = ""
    process: ManagedProcess | None = None
    runner: ContainerRunner | None = None
    follower: ManagedProcess | None = None
    python: Path | None = None
    healthy: asyncio.Event = field(default_factory=asyncio.Event)
    restart_at: float | None = None
    backoff: float = 1.0
    started_at: float = 0.0
    started_wall: float | None = None  # Unix time of the last start, for people
    restarts: int = 0
    exit_code: int | None = None  # of the last exit, until the next start
    probe: Probe | None = None
    image_id: str = ""  # what a container resource runs, for restarting it
    was_healthy: bool = False
    rehealth: asyncio.Task[None] | None = None  # the health gate after a restart
    on_change: Callable[[Tracked], None] | None = field(default=None, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in OBSERVED and getattr(self, "on_change", None) is not None:
            self.on_change(self)  # type: ignore[misc]

    def record_probe(self, ok: bool, detail: str) -> None:
        """Note a probe's result; one that repeats the last keeps its first time."""
        if self.probe is None or (self.probe.ok, self.probe.detail) != (ok, detail):
            self.probe = Probe(time.time(), ok, detail)

    @property
    def output(self) -> ManagedProcess | None:
        return self.process or self.follower

    def row(self, resolver: RunResolver) -> list[str]:
        """This resource's line in the table: name, kind, state, health, URLs (and notes)."""
        resource = self.resource
        urls = " ".join(resolver.url(resource, name) for name in resource.endpoints)
        kind = getattr(resource, "kind_label", resource.kind)
        note = f" ({self.note})" if self.note else ""
        return [resource.name, kind, self.state, self.health, urls + note]
