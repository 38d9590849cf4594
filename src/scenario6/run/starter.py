"""Starting one resource: its image, then its process or container, then its health gate."""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scenario6.apphost import ContainerResource, Lifetime, Resource
from scenario6.apphost.parameters import Parameter
from scenario6.containers import ContainerRuntime

from . import states
from .commands import native_command
from .container import ContainerRunner
from .health import HealthTimeout, http_check, poll
from .monitor import HealthMonitor
from .printer import Printer
from .process import ManagedProcess
from .resolve import LOCALHOST, RunResolver
from .tracked import Tracked

NATIVE_TIMEOUT = 60.0
CONTAINER_TIMEOUT = 180.0


class StartupFailed(Exception):
    """A resource could not be started; the message is for the user as is."""


@dataclass
class RunOptions:
    reload: bool = True
    startup_timeout: float | None = None  # overrides every resource's own
    debug_port: int | None = None  # uvicorn apps run under debugpy, listening here
    stop_grace: float = 5.0
    control: bool = True  # serve the control API and write the checkout's state file
    control_port: int = 0  # 0: a free port
    # Aspire's dashboard reads the resources here (``--dashboard aspire``); None: not served.
    resource_service_port: int | None = None
    resource_service_key: Parameter | None = None  # the API key it sends


class Starter:
    """Starts resources for the supervisor, first time and after a crash alike.

    ``started`` lists what has something to stop, in start order, for the supervisor's shutdown.
    """

    def __init__(
        self,
        *,
        tracked: dict[str, Tracked],
        runtime: ContainerRuntime | None,
        resolver: RunResolver,
        printer: Printer,
        monitor: HealthMonitor,
        options: RunOptions,
        app_dir: Path,
        log: Callable[[str, str], None] | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.tracked = tracked
        self.runtime = runtime
        self.resolver = resolver
        self.printer = printer
        self.monitor = monitor
        self.options = options
        self.started: list[Tracked] = []
        self.log = log  # (name, line): where each output line goes besides the printer

    def sink(self, name: str) -> Callable[[str], None]:
        def line(text: str) -> None:
            self.printer.line(name, text)
            if self.log is not None:
                self.log(name, text)

        return line

    async def when_ready(self, item: Tracked) -> None:
        if isinstance(item.resource, ContainerResource):
            # Images build while dependencies start: only the container itself has to wait.
            assert self.runtime is not None
            runner = ContainerRunner(
                item.resource, self.runtime, self.resolver, self.sink(item.resource.name)
            )
            item.runner, item.state = runner, states.BUILDING
            item.image_id = await runner.prepare_image()
            item.state = states.WAITING
        for dependency in item.resource.waits:
            await self.tracked[dependency].healthy.wait()
        if item.runner is not None:
            await self.container(item, item.runner)
        else:
            await self.native(item)
        await self.ready(item)
        item.healthy.set()

    async def ready(self, item: Tracked) -> None:
        """The health gate, then what a container hands over once healthy (its file exports)."""
        await self.wait_healthy(item)
        if item.runner is not None:
            for source, destination in item.runner.resource.exports:
                await item.runner.export(source, self.app_dir / destination)

    def check_ports(self, resource: Resource) -> None:
        for endpoint in resource.endpoints.values():
            port = self.resolver.host_port(resource, endpoint)
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((LOCALHOST, port))
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        raise StartupFailed(
                            f"port {port} for {resource.name} cannot be used: {exc.strerror} "
                            "(choose another with FRONTEND_PORT / MOSHI_PORT)."
                        ) from None
                    raise StartupFailed(
                        f"port {port} for {resource.name} is already in use by another program: "
                        "stop that program or choose another port (FRONTEND_PORT / MOSHI_PORT)."
                    ) from None

    async def native(self, item: Tracked) -> None:
        resource = item.resource
        self.check_ports(resource)
        argv = native_command(
            resource, self.resolver, item.python, self.options.reload, self.options.debug_port
        )
        cwd = getattr(resource, "project_dir", None) or getattr(resource, "working_dir", None)
        item.process = ManagedProcess(
            argv,
            env=self.resolver.native_environment(resource),
            cwd=cwd,
            on_line=self.sink(resource.name),
        )
        item.state = states.STARTING
        await item.process.start()
        item.started_at, item.started_wall, item.exit_code = time.monotonic(), time.time(), None
        if item not in self.started:
            self.started.append(item)

    async def container(self, item: Tracked, runner: ContainerRunner) -> None:
        resource = runner.resource
        found = await runner.existing()
        if found is None or found.state != "running":
            self.check_ports(resource)
        item.state = states.STARTING
        if item not in self.started:
            self.started.append(item)
        began = time.time()
        await runner.start(item.image_id)
        item.started_at, item.started_wall, item.exit_code = time.monotonic(), time.time(), None
        item.state = states.STARTING
        if runner.outcome == "reused":
            self.printer.line(resource.name, f"reusing persistent container {runner.name}")
        item.note = {"reused": "reused", "restarted": "restarted"}.get(runner.outcome, "")
        if resource.lifetime is Lifetime.PERSISTENT:
            item.note = ", ".join(n for n in ("persistent", item.note) if n)
        if item.was_healthy:  # a restart: only what this start prints, not the crash again
            item.follower = runner.follower("all", since=began - 1)
        else:
            item.follower = runner.follower("20" if runner.outcome != "created" else "all")
        await item.follower.start()

    async def wait_healthy(self, item: Tracked) -> None:
        resource = item.resource
        default = CONTAINER_TIMEOUT if isinstance(resource, ContainerResource) else NATIVE_TIMEOUT
        timeout = self.options.startup_timeout or resource.startup_timeout or default
        checks = resource.health_checks

        def gone() -> str | None:
            output = item.output
            if output is not None and output.returncode is not None:
                if item.process is not None:
                    return f"it exited with code {output.returncode}"
                return "its container stopped"
            return None

        began = time.monotonic()
        item.health = "starting" if checks else "-"
        for check in checks:
            url = self.resolver.url(resource, check.endpoint, check.path)
            ok, why = await poll(http_check(url, check.status), timeout=timeout, alive=gone)
            item.record_probe(ok, why or "answered as expected")
            if not ok:
                item.state, item.health = states.FAILED, "unhealthy"
                lines = list(item.output.last_lines) if item.output else []
                raise HealthTimeout(resource.name, url, time.monotonic() - began, lines, why)
        if not checks:
            await asyncio.sleep(0.2)
            reason = gone()
            if reason:
                raise StartupFailed(f"{resource.name} stopped right after starting: {reason}")
        item.state = states.RUNNING
        self.monitor.healthy(item)
