"""Our resource views as the Aspire dashboard's ``Resource`` messages.

The dashboard stops loading resources at the first one it rejects, so every message here has
what it insists on: a name, type, display name, uid and creation time; each URL with its
display properties present; each property with a value; each command with a display name.
"""

from __future__ import annotations

import time
from typing import Any

from scenario6.run import states
from scenario6.run.model import ResourceView

from .contract import enum, message

# Aspire's resource types for our kinds (its dashboard picks icons and columns by them).
TYPES = {"container": "Container", "executable": "Executable", "python": "Project",
         "uvicorn": "Project"}  # fmt: skip
STYLES = {
    "Running": "success",
    "Finished": "success",
    "RuntimeUnhealthy": "error",
    "FailedToStart": "error",
    "Exited": "warning",
}  # the rest (Starting, Waiting, Building, Stopping, NotStarted) are "info"
# Command names as the dashboard releases up to 13.1 define them (main renamed them later).
COMMANDS = {
    "resource-start": "start",
    "resource-stop": "stop",
    "resource-restart": "restart",
    "resource-rebuild": "rebuild",
}
# Each command's button: its label and Fluent icon.
_LABELS = {
    "start": ("Start", "Play"),
    "stop": ("Stop", "Stop"),
    "restart": ("Restart", "ArrowCounterclockwise"),
    "rebuild": ("Rebuild", "ArrowSync"),
}
LIVE = frozenset({states.RUNNING, states.UNHEALTHY})
ENDED = frozenset({states.STOPPED, states.EXITED, states.FAILED})


def resource_type(view: ResourceView) -> str:
    return TYPES.get(view.kind, "Executable")


def _command_state(command: str, view: ResourceView, rebuildable: bool) -> str:
    if command == "start":
        return "ENABLED" if view.state in ENDED else "HIDDEN"
    if command == "stop":
        return "HIDDEN" if view.state in ENDED else "ENABLED"
    if command == "rebuild" and not rebuildable:
        return "HIDDEN"
    return "ENABLED" if view.state in LIVE else "DISABLED"


def _properties(view: ResourceView) -> dict[str, Any]:
    """Aspire's property names where it has one; empty values are left out."""
    found: dict[str, Any] = {
        "resource.kind": view.kind,
        "resource.restartCount": view.restarts,
        "resource.exitCode": view.exit_code,
        "resource.note": view.note,
        "executable.pid": view.pid,
        "container.id": view.container_id,
        "container.name": view.container_name,
        "container.image": view.image,
        "resource.command": list(view.command),
    }
    if view.waiting_for:
        found["resource.waitingFor"] = list(view.waiting_for)
    return {name: value for name, value in found.items() if value not in (None, "", [])}


def _value(target: Any, value: Any) -> None:
    """Fill ``target`` (a google.protobuf.Value) with ``value``."""
    if isinstance(value, list):
        target.list_value.SetInParent()
        for item in value:
            target.list_value.values.add().string_value = str(item)
    elif isinstance(value, int):
        target.number_value = value
    else:
        target.string_value = str(value)


class ResourceMessages:
    """Builds ``Resource`` messages; remembers when each resource was first seen, which stands
    for its creation time until it starts."""

    def __init__(self, rebuildable: frozenset[str] = frozenset()) -> None:
        self.rebuildable = rebuildable  # names of containers built from a Dockerfile here
        self._seen: dict[str, float] = {}

    def resource(self, view: ResourceView) -> Any:
        created = self._seen.setdefault(view.name, view.started_at or time.time())
        found = message("Resource")(
            name=view.name,
            resource_type=resource_type(view),
            display_name=view.name,
            uid=view.name,
            state=view.aspire_state,
            state_style=STYLES.get(view.aspire_state, "info"),
        )
        _stamp(found.created_at, created)
        if view.started_at is not None:
            _stamp(found.started_at, view.started_at)
        inactive = view.state not in LIVE
        for order, endpoint in enumerate(view.endpoints):
            url = found.urls.add(
                endpoint_name=endpoint.name, full_url=endpoint.url, is_inactive=inactive
            )
            # Present even when empty: the dashboard fails on a URL without it.
            url.display_properties.SetInParent()
            url.display_properties.sort_order = order
            url.display_properties.display_name = endpoint.name
        for name, value in _properties(view).items():
            _value(found.properties.add(name=name).value, value)
        for name, value in view.environment.items():
            found.environment.add(name=name, value=value, is_from_spec=True)
        for wire, command in COMMANDS.items():
            label, icon = _LABELS[command]
            state = _command_state(command, view, view.name in self.rebuildable)
            found.commands.add(
                name=wire,
                display_name=label,
                icon_name=icon,
                is_highlighted=command in ("start", "stop"),
                state=enum("ResourceCommandState", state),
            )
        self._health(found, view)
        return found

    @staticmethod
    def _health(found: Any, view: ResourceView) -> None:
        if view.health == "-":
            return  # no health checks: no report, which the dashboard counts as healthy
        report = found.health_reports.add(key="health", description=view.health)
        if view.health in ("healthy", "unhealthy"):  # "starting" stays without a status
            report.status = enum("HealthStatus", view.health.upper())
        if view.probe is not None:
            report.description = str(view.probe.get("detail") or view.health)
            if view.probe.get("at"):
                _stamp(report.last_run_at, float(view.probe["at"]))

    def types(self, views: list[ResourceView]) -> list[Any]:
        names = dict.fromkeys(resource_type(view) for view in views)
        return [message("ResourceType")(unique_name=name, display_name=name) for name in names]


def _stamp(target: Any, at: float) -> None:
    target.seconds = int(at)
    target.nanos = int((at % 1) * 1e9)
