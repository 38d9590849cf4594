"""The run loop: start resources in dependency order, watch them, and own the shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scenario6.apphost import (
    ContainerResource,
    DistributedApplication,
    Lifetime,
    ParameterResolver,
    PythonAppResource,
    Resource,
    references_in,
)
from scenario6.apphost.parameters import Parameter

from . import venv
from .commands import CommandUnavailable, native_command
from .container import ContainerError, ContainerRunner
from .health import HealthTimeout, http_check, poll
from .printer import Printer
from .process import ManagedProcess
from .resolve import LOCALHOST, RunResolver
from .runtime import ContainerRuntime, RuntimeUnavailable
from .tracked import Tracked

NATIVE_TIMEOUT = 60.0
CONTAINER_TIMEOUT = 180.0


class StartupFailed(Exception):
    """A resource could not be started; the message is for the user as is."""


@dataclass
class EngineOptions:
    reload: bool = True
    startup_timeout: float | None = None  # overrides every resource's own
    debug_port: int | None = None  # uvicorn apps run under debugpy, listening here
    stop_grace: float = 5.0


class RunEngine:
    """Runs ``app`` until SIGINT/SIGTERM; ``run()`` returns the exit code.

    Signal handlers only set a flag; this loop stops resources in reverse order. A second
    signal kills what is left at once. Persistent containers are left running.
    """

    def __init__(
        self,
        app: DistributedApplication,
        *,
        runtime: ContainerRuntime | None,
        parameters: ParameterResolver,
        printer: Printer,
        options: EngineOptions | None = None,
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.parameters = parameters
        self.printer = printer
        self.options = options or EngineOptions()
        self.resolver = RunResolver(app, parameters, runtime)
        self.order = app.start_order()
        self.tracked = {r.name: Tracked(r) for r in self.order}
        self._stop = asyncio.Event()
        self._forced = False
        self._started: list[Tracked] = []
        printer.add_names([r.name for r in self.order])

    # -- signals -------------------------------------------------------------------------
    def _on_signal(self) -> None:
        if self._stop.is_set():
            self._forced = True
            self.printer.warn("second interrupt: killing everything now")
            for item in self._started:
                for process in (item.process, item.follower):
                    if process is not None and process.pid is not None:
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(process.pid, signal.SIGKILL)
            return
        self._stop.set()

    # -- main loop -----------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal)
        starters: list[asyncio.Task[None]] = []
        code = 0
        try:
            await self._preflight()
            starters = [asyncio.create_task(self._start_when_ready(t)) for t in self._items()]
            everything = asyncio.gather(*starters)
            stop = asyncio.create_task(self._stop.wait())
            waiters: list[asyncio.Future[Any]] = [everything, stop]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if everything.done():
                everything.result()
                self._print_table()
                await self._supervise()
            else:
                self.printer.info("interrupted during start-up")
                code = 130
        except (
            StartupFailed,
            HealthTimeout,
            ContainerError,
            RuntimeUnavailable,
            CommandUnavailable,
        ) as error:
            self.printer.error(str(error))
            code = 1
        finally:
            for task in starters:
                task.cancel()
            await asyncio.gather(*starters, return_exceptions=True)
            await self._shutdown()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        return code

    def _sink(self, name: str) -> Callable[[str], None]:
        return lambda line: self.printer.line(name, line)

    def _items(self) -> list[Tracked]:
        return [self.tracked[r.name] for r in self.order]

    async def _preflight(self) -> None:
        """Everything that can fail before anything starts: engine, secrets, environments."""
        if any(isinstance(r, ContainerResource) for r in self.order):
            if self.runtime is None:
                raise RuntimeUnavailable("this app has containers but no container runtime")
            await asyncio.to_thread(self.runtime.check_engine)
        for resource in self.order:
            for value in resource.env.values():
                for ref in references_in(value):
                    if isinstance(ref, Parameter):
                        self.parameters.resolve(ref)
        for item in self._items():
            if isinstance(item.resource, PythonAppResource):
                item.python = await venv.prepare(item.resource, self._sink(item.resource.name))

    async def _start_when_ready(self, item: Tracked) -> None:
        image_id = ""
        if isinstance(item.resource, ContainerResource):
            # Images build while dependencies start: only the container itself has to wait.
            assert self.runtime is not None
            runner = ContainerRunner(
                item.resource, self.runtime, self.resolver, self._sink(item.resource.name)
            )
            item.runner, item.state = runner, "building"
            image_id = await runner.prepare_image()
            item.state = "waiting"
        for dependency in item.resource.waits:
            await self.tracked[dependency].healthy.wait()
        if item.runner is not None:
            await self._start_container(item, item.runner, image_id)
        else:
            await self._start_native(item)
        await self._wait_healthy(item)
        item.healthy.set()

    # -- starting ------------------------------------------------------------------------
    def _check_ports(self, resource: Resource) -> None:
        for endpoint in resource.endpoints.values():
            port = self.resolver.host_port(resource, endpoint)
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((LOCALHOST, port))
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        raise
                    raise StartupFailed(
                        f"port {port} for {resource.name} is already in use by another program: "
                        "stop that program or choose another port (FRONTEND_PORT / MOSHI_PORT)."
                    ) from None

    async def _start_native(self, item: Tracked) -> None:
        resource = item.resource
        self._check_ports(resource)
        argv = native_command(
            resource, self.resolver, item.python, self.options.reload, self.options.debug_port
        )
        cwd = getattr(resource, "project_dir", None) or getattr(resource, "working_dir", None)
        item.process = ManagedProcess(
            argv,
            env=self.resolver.native_environment(resource),
            cwd=cwd,
            on_line=self._sink(resource.name),
        )
        item.state = "starting"
        await item.process.start()
        item.started_at = time.monotonic()
        if item not in self._started:
            self._started.append(item)

    async def _start_container(self, item: Tracked, runner: ContainerRunner, image: str) -> None:
        resource = runner.resource
        found = await runner.existing()
        if found is None or found.state != "running":
            self._check_ports(resource)
        item.state = "starting"
        self._started.append(item)
        await runner.start(image)
        item.state = "starting"
        if runner.outcome == "reused":
            self.printer.line(resource.name, f"reusing persistent container {runner.name}")
        item.note = {"reused": "reused", "restarted": "restarted"}.get(runner.outcome, "")
        if resource.lifetime is Lifetime.PERSISTENT:
            item.note = ", ".join(n for n in ("persistent", item.note) if n)
        item.follower = runner.follower("20" if runner.outcome != "created" else "all")
        await item.follower.start()

    async def _wait_healthy(self, item: Tracked) -> None:
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
            if not ok:
                item.state, item.health = "failed", "unhealthy"
                lines = list(item.output.last_lines) if item.output else []
                raise HealthTimeout(resource.name, url, time.monotonic() - began, lines, why)
        if not checks:
            await asyncio.sleep(0.2)
            reason = gone()
            if reason:
                raise StartupFailed(f"{resource.name} stopped right after starting: {reason}")
        item.state = "running"
        item.health = "healthy" if checks else "-"
        item.backoff = 1.0
        self.printer.info(f"{resource.name} is {'healthy' if checks else 'running'}")

    # -- while running -------------------------------------------------------------------
    def _print_table(self) -> None:
        rows = [item.row(self.resolver) for item in self._items()]
        self.printer.table(["NAME", "KIND", "STATE", "HEALTH", "URL"], rows)
        self.printer.info("all resources are up; press Ctrl-C to stop")

    async def _supervise(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.5)
            if self._stop.is_set():
                return
            for item in self._items():
                await self._check(item)

    async def _check(self, item: Tracked) -> None:
        name = item.resource.name
        if item.process is not None and item.state != "restarting":
            code = item.process.returncode
            if code is None:
                return
            self._report_exit(item, f"exited with code {code}")
            # Native apps come back after a crash (the frontend in development, mostly).
            item.state, item.health = "restarting", "-"
            item.restart_at = time.monotonic() + item.backoff
            self.printer.info(f"restarting {name} in {item.backoff:.0f} s")
            item.backoff = min(item.backoff * 2, 30.0)
        elif item.state == "restarting" and item.restart_at and time.monotonic() >= item.restart_at:
            item.restart_at = None
            await self._start_native(item)
            asyncio.create_task(self._rehealth(item))  # noqa: RUF006 - ends with the process
        elif item.follower is not None and item.follower.returncode is not None:
            assert item.runner is not None
            exit_code = await item.runner.exit_code()
            if exit_code is None:  # the container runs, only the log stream ended
                item.follower = item.runner.follower("0")
                await item.follower.start()
            elif item.state != "exited":
                self._report_exit(item, f"container exited with code {exit_code}")
                item.state, item.health = "exited", "-"

    async def _rehealth(self, item: Tracked) -> None:
        with contextlib.suppress(HealthTimeout, StartupFailed):
            await self._wait_healthy(item)

    def _report_exit(self, item: Tracked, what: str) -> None:
        lines = list(item.output.last_lines)[-10:] if item.output else []
        tail = "\n".join(f"    {line}" for line in lines)
        self.printer.error(
            f"{item.resource.name} {what}" + (f"; last output:\n{tail}" if tail else "")
        )

    # -- stopping ------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        if not self._started:
            return
        self.printer.info("stopping…")
        grace = 0.0 if self._forced else self.options.stop_grace
        for item in reversed(self._started):
            if item.process is not None:
                await item.process.stop(grace=0.0 if self._forced else grace)
                item.state = "stopped"
            if item.runner is not None:
                runner = item.runner
                if runner.persistent and runner.container_id:
                    self.printer.info(
                        f"{item.resource.name}: persistent container {runner.name} left running "
                        f"(remove it with: {self.runtime.name if self.runtime else 'docker'} "
                        f"rm -f {runner.name})"
                    )
                elif not runner.persistent:
                    await runner.remove()
            if item.follower is not None:
                await item.follower.stop(grace=1.0)
        self.printer.info("stopped")
