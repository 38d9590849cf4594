"""The supervisor: start resources in dependency order, watch them, and own the shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Coroutine
from typing import Any

from scenario6.apphost import (
    ContainerResource,
    DistributedApplication,
    ParameterResolver,
    PythonAppResource,
    references_in,
)
from scenario6.apphost.parameters import Parameter
from scenario6.containers import ContainerRuntime, RuntimeUnavailable

from . import venv
from .commands import CommandUnavailable
from .container import ContainerError
from .health import HealthTimeout
from .monitor import HealthMonitor
from .printer import Printer
from .resolve import RunResolver, secret_names
from .starter import RunOptions, Starter, StartupFailed
from .tracked import Tracked

# A resource that ran this long before failing restarts after 1 s again.
STABLE_S = 30.0


class Supervisor:
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
        options: RunOptions | None = None,
    ) -> None:
        self.app = app
        if runtime is not None:  # its CLI calls get no secret of this app either
            runtime = runtime.withholding(secret_names(app))
        self.runtime = runtime
        self.parameters = parameters
        self.printer = printer
        self.options = options or RunOptions()
        self.resolver = RunResolver(app, parameters, runtime)
        self.order = app.start_order()
        self.tracked = {r.name: Tracked(r) for r in self.order}
        self._stop = asyncio.Event()
        self._forced = False
        self._signal = int(signal.SIGINT)
        self._background: set[asyncio.Task[None]] = set()
        self.monitor = HealthMonitor(self.resolver, printer)
        self.starter = Starter(
            tracked=self.tracked,
            runtime=runtime,
            resolver=self.resolver,
            printer=printer,
            monitor=self.monitor,
            options=self.options,
            app_dir=app.app_dir,
        )
        printer.add_names([r.name for r in self.order])

    # -- signals -------------------------------------------------------------------------
    def _on_signal(self, signum: int) -> None:
        if self._stop.is_set():
            self._forced = True
            self.printer.warn("second interrupt: killing everything now")
            for item in self.starter.started:
                for process in (item.process, item.follower):
                    if process is not None and process.pid is not None:
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(process.pid, signal.SIGKILL)
            return
        self._signal = signum
        self._stop.set()

    # -- main loop -----------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        starters: list[asyncio.Task[None]] = []
        code = 0
        try:
            await self._preflight()
            starters = [asyncio.create_task(self.starter.when_ready(t)) for t in self._items()]
            everything = asyncio.gather(*starters)
            # An interrupt cancels the starters, which leaves the gather holding an exception
            # that nobody awaits; retrieving it here keeps asyncio from printing it at exit.
            everything.add_done_callback(lambda done: done.cancelled() or done.exception())
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
                code = 128 + self._signal
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
            for task in [*starters, *self._background]:
                task.cancel()
            await asyncio.gather(*starters, *self._background, return_exceptions=True)
            await self._shutdown()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        return code

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
                item.python = await venv.prepare(
                    item.resource,
                    self.starter.sink(item.resource.name),
                    self.resolver.inherited_environment(),
                )

    # -- while running -------------------------------------------------------------------
    def _print_table(self) -> None:
        rows = [item.row(self.resolver) for item in self._items()]
        self.printer.table(["NAME", "KIND", "STATE", "HEALTH", "URL"], rows)
        self.printer.info("all resources are up; press Ctrl-C to stop")

    async def _supervise(self) -> None:
        for item in self._items():
            self._spawn(self.monitor.watch(item))
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.5)
            if self._stop.is_set():
                return
            for item in self._items():
                await self._check(item)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _check(self, item: Tracked) -> None:
        """Notice a crash and bring the resource back, pausing longer after each attempt."""
        if item.state == "restarting":
            if item.restart_at is not None and time.monotonic() >= item.restart_at:
                await self._restart(item)
            return
        ended = await self._ending(item)
        if ended is None:
            return
        if item.rehealth is not None:
            item.rehealth.cancel()  # it would report the same exit as a failed health gate
        self._report_exit(item, ended)
        self.monitor.unhealthy(item, ended)
        if time.monotonic() - item.started_at >= STABLE_S:
            item.backoff = 1.0  # it ran fine for a while: this is a new failure, not a loop
        self._schedule_restart(item)

    def _schedule_restart(self, item: Tracked) -> None:
        item.state = "restarting"
        item.restart_at = time.monotonic() + item.backoff
        self.printer.info(f"restarting {item.resource.name} in {item.backoff:.0f} s")
        item.backoff = min(item.backoff * 2, 30.0)

    async def _ending(self, item: Tracked) -> str | None:
        """How ``item`` ended, or None while it still runs."""
        if item.process is not None:
            code = item.process.returncode
            if code is None:
                return None
            if code < 0 and -code in signal.valid_signals():
                return f"was killed by {signal.Signals(-code).name}"
            return f"exited with code {code}"
        if item.follower is None or item.follower.returncode is None:
            return None
        assert item.runner is not None
        exit_code = await item.runner.exit_code()
        if exit_code is None:  # the container runs, only its log stream ended
            item.follower = item.runner.follower("0")
            await item.follower.start()
            return None
        if exit_code < 0:
            return f"container {item.runner.name} is gone (removed?)"
        return f"container exited with code {exit_code}"

    async def _restart(self, item: Tracked) -> None:
        item.restart_at = None
        try:
            if item.runner is not None:
                await self.starter.container(item, item.runner)
            else:
                if item.process is not None:
                    # What the crashed process started may still hold its port.
                    await item.process.stop(grace=0)
                await self.starter.native(item)
        except (StartupFailed, ContainerError, CommandUnavailable) as error:
            self.printer.error(f"{item.resource.name} could not be restarted: {error}")
            self._schedule_restart(item)
            return
        item.rehealth = self._spawn(self._rehealth(item))

    async def _rehealth(self, item: Tracked) -> None:
        try:
            await self.starter.ready(item)
        except (HealthTimeout, StartupFailed, ContainerError) as error:
            self.printer.warn(
                f"{item.resource.name} did not come back healthy: {str(error).splitlines()[0]}"
            )
            # Still watched: the monitor reports a late recovery, _check another exit.
            item.state, item.health = "running", "unhealthy"

    def _report_exit(self, item: Tracked, what: str) -> None:
        lines = list(item.output.last_lines)[-10:] if item.output else []
        tail = "\n".join(f"    {line}" for line in lines)
        self.printer.error(
            f"{item.resource.name} {what}" + (f"; last output:\n{tail}" if tail else "")
        )

    # -- stopping ------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        if not self.starter.started:
            return
        self.printer.info("stopping…")
        grace = 0.0 if self._forced else self.options.stop_grace
        for item in reversed(self.starter.started):
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
