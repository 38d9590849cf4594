"""``scenario6 mcp``: the MCP server a coding agent launches to see and drive the running app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from scenario6.extras import from_extra, missing


def register(subparsers: Any) -> None:
    mcp = subparsers.add_parser(
        "mcp",
        help="serve MCP over stdio for coding agents: resources, console logs, restart",
        description="An MCP server (stdio) whose tools list this checkout's running app's "
        "resources with state, health and endpoints, read their console logs, and start, stop, "
        "restart or rebuild one, as `aspire agent mcp` does. Start the app with "
        "`scenario6 run --detach`; the agent launches this command.",
    )
    mcp.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    from scenario6.cli.run import find_apphost

    try:
        from scenario6.run.control import agent
    except ImportError as exc:
        if not from_extra(exc):
            raise
        print(missing("scenario6 mcp", "mcp", exc.name), file=sys.stderr)
        return 2
    apphost = find_apphost(Path.cwd())
    agent.serve(apphost.parent if apphost else Path.cwd())
    return 0
