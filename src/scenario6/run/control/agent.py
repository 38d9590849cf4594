"""The MCP server coding agents launch (``scenario6 mcp``): the running app's resources, console
logs and commands as tools, over stdio, as ``aspire agent mcp`` offers them.

Each call finds the checkout's run anew through its state file, so the server may start
before the run does and outlives a run being stopped and started again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from scenario6 import __version__
from scenario6.run.states import COMMANDS

from .client import READY_TIMEOUT, ControlClient, ControlError, ready

NAME = "scenario6"
INSTRUCTIONS = (
    "Tools for the app that `scenario6 run` runs in this checkout: its resources (state, "
    "health, endpoints), their console logs, and start, stop, restart or rebuild of one. "
    "Without a run, each tool says how to start one."
)
# The control API answers a command once it is done, and a rebuild runs a whole image build.
# A resource's fields that a listing shows; describe_resource gives every field.
SUMMARY = (
    "name", "kind", "state", "aspire_state", "health", "waiting_for", "probe", "endpoints",
    "restarts", "exit_code", "started_at", "pid", "container_name", "image",
)  # fmt: skip

ResourceName = Annotated[str, Field(description="a resource's name, as list_resources gives it")]
Command = Annotated[str, Field(description="what to do", json_schema_extra={"enum": [*COMMANDS]})]
Tail = Annotated[int, Field(description="how many of the last lines; -1: all kept", ge=-1)]


def _resource(name: str) -> str:
    # An agent's text goes into a URL path: one segment, whatever it holds.
    return f"/api/v1/resources/{quote(name, safe='')}"


class Tools:
    """The tools' work, on the run of the checkout at ``app_dir``:
    ``Tools(Path.cwd()).server().run("stdio")``."""

    def __init__(self, app_dir: Path) -> None:
        self.app_dir = app_dir

    def _client(self) -> ControlClient:
        try:
            return ControlClient.for_checkout(self.app_dir)
        except ControlError as error:
            raise ToolError(str(error)) from None

    def _get(self, path: str) -> Any:
        try:
            return self._client().get(path)
        except ControlError as error:
            raise ToolError(str(error)) from None

    def list_resources(self) -> dict[str, Any]:
        """Every resource of the running app: kind, state, health with the last probe,
        endpoints (URLs to open or connect to), restarts and exit code."""
        listing = self._get("/api/v1/resources")
        resources = [{key: view[key] for key in SUMMARY} for view in listing["resources"]]
        return {"phase": listing["phase"], "resources": resources}

    def describe_resource(self, resource_name: ResourceName) -> dict[str, Any]:
        """One resource in full: also its command, container id and environment (secrets
        masked)."""
        result: dict[str, Any] = self._get(_resource(resource_name))
        return result

    def list_console_logs(self, resource_name: ResourceName, tail: Tail = 100) -> str:
        """A resource's latest console output, oldest line first."""
        lines = self._get(f"{_resource(resource_name)}/logs?tail={tail}")["lines"]
        return "\n".join(line["text"] for line in lines) or f"({resource_name} printed nothing)"

    def execute_resource_command(
        self, resource_name: ResourceName, command: Command
    ) -> dict[str, Any]:
        """Start, stop, restart or rebuild (a container's image, then restart) one resource;
        waits until it is running and healthy again, and answers its new state."""
        if command not in COMMANDS:
            raise ToolError(f"no command {command!r}: one of {', '.join(COMMANDS)}")
        client = self._client()
        path = _resource(resource_name)
        try:
            before = client.get(path)
            view = client.post(f"{path}/{command}")
            if command != "stop":
                view = client.wait_ready(resource_name, view, READY_TIMEOUT)
        except ControlError as error:
            raise ToolError(str(error)) from None
        if command != "stop" and not ready(view):
            raise ToolError(
                f"{resource_name} is {view['state']} (health {view['health']}) "
                f"{READY_TIMEOUT:.0f} s after {command}; see list_console_logs"
            )
        return {
            "resource": resource_name,
            "command": command,
            "state": view["state"],
            "health": view["health"],
            "restarts_before": before["restarts"],
            "restarts": view["restarts"],
            "endpoints": view["endpoints"],
        }

    def list_urls(self) -> dict[str, list[str]]:
        """Each resource's URLs: the frontend's page, the backend's ws:// chat endpoint."""
        listing = self._get("/api/v1/resources")
        return {
            view["name"]: [e["url"] for e in view["endpoints"]] for view in listing["resources"]
        }

    def server(self) -> MCPServer:
        served = MCPServer(
            NAME, instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
        )
        reads = (
            self.list_resources,
            self.describe_resource,
            self.list_console_logs,
            self.list_urls,
        )
        for tool in reads:
            served.add_tool(tool, annotations=ToolAnnotations(read_only_hint=True))
        served.add_tool(
            self.execute_resource_command,
            annotations=ToolAnnotations(read_only_hint=False),
        )
        return served


def serve(app_dir: Path) -> None:
    """Answer one agent on stdin and stdout until it closes them."""
    Tools(app_dir).server().run("stdio")
