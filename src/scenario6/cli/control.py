"""``scenario6 ps|describe|logs|restart|stop|resource``: the running app, from another shell.

Each talks to the run of this checkout through its control API (see ``scenario6 run
--detach``), as Aspire's commands of the same names do.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from scenario6.run.states import COMMANDS


def register(subparsers: Any) -> None:
    ps = subparsers.add_parser(
        "ps", help="show the running app of this checkout: pid, uptime, resources and states"
    )
    ps.add_argument("--json", action="store_true", help="print one JSON object")
    ps.set_defaults(handler=show_runs)

    describe = subparsers.add_parser(
        "describe",
        help="show each resource (or one): state, health, endpoints, pid, command, environment",
    )
    describe.add_argument("resource", nargs="?", help="one resource (default: all)")
    describe.add_argument(
        "--json", action="store_true", help="print JSON (with --follow: a line a change)"
    )
    describe.add_argument(
        "-f", "--follow", action="store_true", help="then print each change as it happens"
    )
    describe.set_defaults(handler=describe_resources)

    logs = subparsers.add_parser("logs", help="print a resource's console output")
    logs.add_argument("resource")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument(
        "-n",
        "--tail",
        type=int,
        default=100,
        help="how many of the last lines (default 100; -1: all kept)",
    )
    logs.set_defaults(handler=show_logs)

    restart = subparsers.add_parser(
        "restart", help="restart a resource and wait until it is healthy again"
    )
    restart.add_argument("resource")
    restart.set_defaults(handler=run_command, command="restart")

    stop = subparsers.add_parser(
        "stop", help="stop the running app: every process and non-persistent container"
    )
    stop.set_defaults(handler=stop_run)

    resource = subparsers.add_parser(
        "resource",
        help="start, stop, restart or rebuild one resource",
        description="rebuild: build a container resource's image from its Dockerfile again, "
        "then restart it with the new image.",
    )
    resource.add_argument("resource")
    resource.add_argument("command", choices=COMMANDS)
    resource.set_defaults(handler=run_command)


def _client() -> Any:
    from scenario6.cli.run import find_apphost
    from scenario6.run.control.client import ControlClient

    apphost = find_apphost(Path.cwd())
    return ControlClient.for_checkout(apphost.parent if apphost else Path.cwd())


def _fail(error: Exception) -> int:
    print(f"scenario6: error: {error}", file=sys.stderr)
    return 1


def _guarded(work: Any) -> int:
    from scenario6.run.control.client import ControlError

    try:
        return int(work())
    except ControlError as error:
        return _fail(error)
    except (KeyboardInterrupt, BrokenPipeError):
        return 0


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _state(view: dict[str, Any]) -> str:
    state = str(view["state"])
    if view.get("exit_code") is not None and state in ("restarting", "stopped", "exited"):
        state += f" (exit code {view['exit_code']})"
    if view.get("waiting_for"):
        state += " for " + ", ".join(view["waiting_for"])
    return state


def _table(rows: list[list[str]], header: list[str]) -> None:
    from scenario6.run.printer import Printer

    Printer().table(header, rows)


def show_runs(args: argparse.Namespace) -> int:
    def work() -> int:
        client = _client()
        run, listing = client.run, client.get("/api/v1/resources")
        if args.json:
            print(json.dumps({"pid": run.pid, "uptime_s": round(run.uptime), "app": run.app,
                              "url": run.url, **listing}, indent=2))  # fmt: skip
            return 0
        print(f"{run.app}: pid {run.pid}, up {_duration(run.uptime)}, {listing['phase']}, "
              f"control API {run.url} (in {run.app_dir})")  # fmt: skip
        print(f"dashboard: {run.login_url}")
        rows = [
            [v["name"], v["kind"], _state(v), v["health"], str(v["restarts"]),
             " ".join(e["url"] for e in v["endpoints"])]
            for v in listing["resources"]
        ]  # fmt: skip
        _table(rows, ["NAME", "KIND", "STATE", "HEALTH", "RESTARTS", "URLS"])
        return 0

    return _guarded(work)


def describe_one(view: dict[str, Any]) -> str:
    started = view.get("started_at")
    probe = view.get("probe")
    lines = [
        view["name"],
        f"  kind: {view['kind']}   state: {_state(view)} ({view['aspire_state']})   "
        f"health: {view['health']}" + (f" (last probe: {probe['detail']})" if probe else ""),
        "  endpoints: " + (" ".join(e["url"] for e in view["endpoints"]) or "-"),
        f"  pid: {view['pid'] or '-'}   container: {view['container_name'] or '-'} "
        f"{view['container_id']}".rstrip()
        + f"   restarts: {view['restarts']}"
        + (f"   started: {time.strftime('%H:%M:%S', time.localtime(started))}" if started else ""),
    ]
    if view["image"]:
        lines.append(f"  image: {view['image']}")
    if view["command"]:
        lines.append("  command: " + " ".join(view["command"]))
    for key, value in view["environment"].items():
        lines.append(f"  env {key}={value}")
    return "\n".join(lines)


def describe_resources(args: argparse.Namespace) -> int:
    def pick(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [v for v in views if args.resource in (None, v["name"])]

    def work() -> int:
        client = _client()
        if args.resource is not None:
            client.get(f"/api/v1/resources/{args.resource}")  # an unknown name fails here
        if not args.follow:
            views = pick(client.get("/api/v1/resources")["resources"])
            if args.json:
                print(json.dumps(views[0] if args.resource else views, indent=2))
            else:
                print("\n\n".join(describe_one(v) for v in views))
            return 0
        for event, data in client.events("/api/v1/watch"):
            views = pick(data["resources"] if event == "snapshot" else [data["resource"]])
            for view in views:
                if args.json:
                    print(json.dumps(view), flush=True)
                else:
                    stamp = time.strftime("%H:%M:%S")
                    print(f"{stamp} {view['name']}: {_state(view)}, health {view['health']}",
                          flush=True)  # fmt: skip
        return 0

    return _guarded(work)


def show_logs(args: argparse.Namespace) -> int:
    def work() -> int:
        client = _client()
        path = f"/api/v1/resources/{args.resource}/logs?tail={args.tail}"
        if not args.follow:
            for line in client.get(path)["lines"]:
                print(line["text"])
            return 0
        for _, line in client.events(path + "&follow=1"):
            print(line["text"], flush=True)
        return 0

    return _guarded(work)


def run_command(args: argparse.Namespace) -> int:
    from scenario6.run.control.client import READY_TIMEOUT, ready

    def work() -> int:
        client = _client()
        name, command = args.resource, args.command
        before = client.get(f"/api/v1/resources/{name}")
        view = client.post(f"/api/v1/resources/{name}/{command}")
        if command == "stop":
            print(f"{name}: {_state(view)}")
            return 0
        view = client.wait_ready(name, view, READY_TIMEOUT)
        if not ready(view):
            print(f"scenario6: error: {name} is {_state(view)} after {READY_TIMEOUT:.0f} s; "
                  f"see scenario6 logs {name}", file=sys.stderr)  # fmt: skip
            return 1
        done = {"start": "started", "restart": "restarted", "rebuild": "rebuilt and restarted"}
        health = "healthy" if view["health"] == "healthy" else "without health checks"
        print(f"{name}: {done[command]}, {_state(view)}, {health} "
              f"(restarts: {before['restarts']} → {view['restarts']})")  # fmt: skip
        return 0

    return _guarded(work)


def stop_run(args: argparse.Namespace) -> int:
    from scenario6.run.control.state import alive

    def work() -> int:
        client = _client()
        pid = client.run.pid
        client.post("/api/v1/stop")
        deadline = time.monotonic() + 120
        while alive(pid):
            if time.monotonic() > deadline:
                return _fail(Exception(f"the run (pid {pid}) did not stop within 120 s"))
            time.sleep(0.1)
        print(f"stopped the run (pid {pid})")
        return 0

    return _guarded(work)
