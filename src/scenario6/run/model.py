"""The live resource model: one view of every resource, read by the CLI, the control API and
anything else that shows the run; observers get a snapshot, then each change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scenario6.apphost import ContainerResource, PythonAppResource, Resource, Secret
from scenario6.facts.names import BACKEND
from scenario6.facts.urls import BackendUrl

from . import states
from .logbook import LogBook
from .resolve import RunResolver
from .tracked import Tracked

MASK = str(Secret(""))  # how a secret value shows: never the value itself


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str  # as a browser or client on this machine opens it


@dataclass(frozen=True)
class ResourceView:
    """One resource as observers see it; ``to_json`` gives the control API's shape."""

    name: str
    kind: str  # container, executable, python or uvicorn
    state: str  # one of run.states, UNHEALTHY and EXITED included
    aspire_state: str
    health: str  # healthy, unhealthy, starting, or "-" without health checks
    waiting_for: tuple[str, ...] = ()
    probe: dict[str, Any] | None = None  # the last health probe: at, ok, detail
    endpoints: tuple[Endpoint, ...] = ()
    started_at: float | None = None
    restarts: int = 0
    exit_code: int | None = None
    pid: int | None = None
    container_id: str = ""
    container_name: str = ""
    image: str = ""
    command: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)  # secrets masked
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Change = tuple[int, ResourceView]  # the model's version after it, and the new view


def _state(item: Tracked) -> str:
    if item.state == states.RUNNING and item.health == "unhealthy":
        return states.UNHEALTHY
    return item.state


class ResourceModel:
    """Every resource of one run, kept current by the supervisor's ``Tracked`` items: each
    assignment to an observed field recomputes the views, and observers hear of those that
    changed, with the model's version after the change.
    """

    def __init__(
        self, tracked: dict[str, Tracked], resolver: RunResolver, log_dir: Path | None
    ) -> None:
        self.tracked = tracked
        self.resolver = resolver
        self.version = 0
        self.logs = {
            name: LogBook(None if log_dir is None else log_dir / f"{name}.log") for name in tracked
        }
        self._views: dict[str, ResourceView] = {}
        self._environments: dict[str, dict[str, str]] = {}
        self._watchers: set[asyncio.Queue[Change | None]] = set()
        for item in tracked.values():
            self._views[item.resource.name] = self.view(item)
            item.on_change = self.changed

    # -- reading -------------------------------------------------------------------------
    def snapshot(self) -> list[ResourceView]:
        return [self._views[name] for name in self.tracked]

    def get(self, name: str) -> ResourceView | None:
        return self._views.get(name)

    def view(self, item: Tracked) -> ResourceView:
        resource = item.resource
        waiting = tuple(
            name
            for name in resource.waits
            if item.state == states.WAITING and not self.tracked[name].healthy.is_set()
        )
        runner = item.runner
        started = item.process is not None or (runner is not None and bool(runner.container_id))
        state = _state(item)
        return ResourceView(
            name=resource.name,
            kind=str(getattr(resource, "kind_label", resource.kind)),
            state=state,
            aspire_state=states.aspire_state(state, item.exit_code, started),
            health=item.health,
            waiting_for=waiting,
            probe=None if item.probe is None else asdict(item.probe),
            endpoints=self._endpoints(resource),
            started_at=item.started_wall,
            restarts=item.restarts,
            exit_code=item.exit_code,
            pid=item.process.pid if item.process is not None else None,
            container_id=runner.container_id if runner is not None else "",
            container_name=runner.name if runner is not None else "",
            image=resource.image if isinstance(resource, ContainerResource) else "",
            command=self._command(item),
            environment=self._environment(item),
            note=item.note,
        )

    def _endpoints(self, resource: Resource) -> tuple[Endpoint, ...]:
        found = [Endpoint(name, self.resolver.url(resource, name)) for name in resource.endpoints]
        if resource.name == BACKEND and found:
            # What a client opens: the conversation's WebSocket, not only the HTTP root.
            found.append(Endpoint("ws", BackendUrl.parse(found[0].url).url))
        return tuple(found)

    @staticmethod
    def _command(item: Tracked) -> tuple[str, ...]:
        if item.process is not None:
            return tuple(item.process.argv)
        resource = item.resource
        if isinstance(resource, ContainerResource):
            entry = [resource.entrypoint] if resource.entrypoint else []
            return tuple([*entry, *resource.args])
        if isinstance(resource, PythonAppResource):
            return (resource.entry.kind, resource.entry.target, *resource.args)
        return ()

    def _environment(self, item: Tracked) -> dict[str, str]:
        resource = item.resource
        if item.output is None:
            # Not before it starts: by then every parameter is resolved (or was asked for).
            return {}
        if resource.name not in self._environments:
            plain, secret = self.resolver.environment(resource)
            masked = {**plain, **dict.fromkeys(secret, MASK)}
            self._environments[resource.name] = dict(sorted(masked.items()))
        return self._environments[resource.name]

    # -- changing ------------------------------------------------------------------------
    def changed(self, item: Tracked | None = None) -> None:
        """Recompute every view (a start changes what others wait for); observers hear of
        those that differ."""
        for tracked in self.tracked.values():
            view = self.view(tracked)
            if view == self._views.get(view.name):
                continue
            self._views[view.name] = view
            self.version += 1
            self._publish((self.version, view))

    def _publish(self, change: Change | None) -> None:
        for queue in list(self._watchers):
            try:
                queue.put_nowait(change)
            except asyncio.QueueFull:
                # A watcher that stopped reading: it ends, and may watch again for a snapshot.
                self._watchers.discard(queue)
                queue.get_nowait()
                queue.put_nowait(None)

    def open_logs(self) -> None:
        for book in self.logs.values():
            book.open()

    def log(self, name: str, text: str) -> None:
        self.logs[name].add(text)

    async def watch(self) -> AsyncIterator[tuple[int, list[ResourceView]]]:
        """(version, views): every resource first, then each change as it happens."""
        queue: asyncio.Queue[Change | None] = asyncio.Queue(maxsize=1000)
        self._watchers.add(queue)
        try:
            yield self.version, self.snapshot()
            while True:
                change = await queue.get()
                if change is None:
                    return
                yield change[0], [change[1]]
        finally:
            self._watchers.discard(queue)

    def close(self) -> None:
        for book in self.logs.values():
            book.close()
        self._publish(None)
