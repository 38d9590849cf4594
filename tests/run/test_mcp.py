"""``scenario6 mcp`` as a coding agent meets it: the SDK's own client launches it over stdio,
lists its tools, reads a detached run's resources and logs, restarts the backend, and hears
a clear error when no run is going."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from scenario6.facts.names import BACKEND, FRONTEND
from scenario6.run.control.client import NO_RUN
from tests.run.conftest import Family, scenario6
from tests.run.test_run_failures import NATIVE
from tests.support.servers import free_port

TOOLS = {
    "list_resources",
    "describe_resource",
    "list_console_logs",
    "execute_resource_command",
    "list_urls",
}


@asynccontextmanager
async def agent(cwd: Path, mode: str = "auto") -> AsyncIterator[Client]:
    """An MCP client that launched ``scenario6 mcp`` in ``cwd``, as an agent's config does;
    ``legacy``: with the initialize handshake of the protocol's earlier versions."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "scenario6", "mcp"], cwd=cwd, env=dict(os.environ)
    )
    async with Client(params, read_timeout_seconds=240, mode=mode) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    """A tool's answer: its JSON, or its text when it answers plain text."""
    result = await client.call_tool(tool, arguments)
    text = "".join(getattr(part, "text", "") for part in result.content)
    assert not result.is_error, f"{tool}: {text}"
    try:
        return json.loads(text)
    except ValueError:
        return text


async def failure(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result
    return "".join(getattr(part, "text", "") for part in result.content)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_without_a_run_every_tool_says_how_to_start_one(tmp_path: Path, mode: str) -> None:
    (tmp_path / "apphost.py").write_text("")  # a checkout, without a run
    async with agent(tmp_path, mode) as client:
        listed = await client.list_tools()
        assert {tool.name for tool in listed.tools} == TOOLS
        assert NO_RUN in await failure(client, "list_resources")
        assert NO_RUN in await failure(client, "list_console_logs", resource_name=FRONTEND)
        assert NO_RUN in await failure(
            client, "execute_resource_command", resource_name=BACKEND, command="restart"
        )


async def test_an_agent_reads_and_restarts_a_detached_run(workspace: Path, family: Family) -> None:
    ports = {"MOSHI_PORT": str(free_port()), "FRONTEND_PORT": str(free_port())}
    started = await asyncio.to_thread(
        scenario6, workspace, "run", "--detach", *NATIVE, env=ports, timeout=300
    )
    family.note()
    assert started.returncode == 0, started.stdout + started.stderr
    chat = f"ws://127.0.0.1:{ports['MOSHI_PORT']}/api/chat"

    async with agent(workspace) as client:
        listing = await call(client, "list_resources")
        by_name = {view["name"]: view for view in listing["resources"]}
        assert set(by_name) == {FRONTEND, BACKEND}
        assert {by_name[FRONTEND]["state"], by_name[BACKEND]["state"]} == {"running"}
        assert chat in [endpoint["url"] for endpoint in by_name[BACKEND]["endpoints"]]
        urls = await call(client, "list_urls")
        assert chat in urls[BACKEND]
        assert any(f":{ports['FRONTEND_PORT']}" in url for url in urls[FRONTEND])

        logs = await call(client, "list_console_logs", resource_name=FRONTEND, tail=50)
        assert isinstance(logs, str) and logs.strip(), logs
        unknown = await failure(client, "list_console_logs", resource_name="nope")
        assert "no resource 'nope'" in unknown and FRONTEND in unknown

        done = await call(
            client, "execute_resource_command", resource_name=BACKEND, command="restart"
        )
        assert (done["state"], done["health"]) == ("running", "healthy")
        assert (done["restarts_before"], done["restarts"]) == (0, 1)
        view = await call(client, "describe_resource", resource_name=BACKEND)
        assert view["restarts"] == 1 and view["pid"] and view["command"]
        family.note()

        stopped = await asyncio.to_thread(scenario6, workspace, "stop")
        assert stopped.returncode == 0, stopped.stderr
        # The same server, still open, now finds no run.
        assert NO_RUN in await failure(client, "list_resources")
    assert family.left_behind() == []
