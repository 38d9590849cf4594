"""What the supervisor knows about one resource while it runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from scenario6.apphost import Resource

from .container import ContainerRunner
from .process import ManagedProcess
from .resolve import RunResolver


@dataclass
class Tracked:
    """What the supervisor knows about one resource while it runs."""

    resource: Resource
    state: str = "waiting"
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
    image_id: str = ""  # what a container resource runs, for restarting it
    was_healthy: bool = False
    rehealth: asyncio.Task[None] | None = None  # the health gate after a restart

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
