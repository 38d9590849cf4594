"""The supervisor: start resources in dependency order, watch them, and own the shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from scenario6.apphost import (
    ContainerResource,
    DistributedApplication,
    ParameterResolver,
    PythonAppResource,
    references_in,
)
from scenario6.apphost.parameters import Parameter, reveal
from scenario6.containers import ContainerRuntime, RuntimeUnavailable

from . import states, venv
from .commands import CommandUnavailable
from .container import ContainerError
from .control.server import ControlServer
from .control.state import LOG_DIR, run_dir
from .health import HealthTimeout
from .model import ResourceModel
from .monitor import HealthMonitor
from .operations import Operator
from .printer import Printer
from .resolve import RunResolver, secret_names
from .starter import RunOptions, Starter, StartupFailed
from .tracked import Tracked

if TYPE_CHECKING:  # grpcio comes with the 'dashboard' extra: imported only when served
    from .aspire.server import ResourceServer

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
        self.app_name = app.name
        self.phase = "starting"
        self.started_at = time.time()
        self.model = ResourceModel(self.tracked, self.resolver, run_dir(app.app_dir) / LOG_DIR)
        self.control: ControlServer | None = None
        self.resource_server: ResourceServer | None = None
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
            log=self.model.log,
        )
        self.operator = Operator(self.starter, printer, self._spawn)
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

    def request_stop(self) -> None:
        """Stop the whole run, as one interrupt does (the control API's stop)."""
        if not self._stop.is_set():
            self._on_signal(int(signal.SIGTERM))

    # -- main loop -----------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        starters: list[asyncio.Task[None]] = []
        code = 0
        self.model.open_logs()
        try:
            if self.options.control:
                self.control = ControlServer(self, self.app.app_dir, self.options.control_port)
                await self.control.start()
            await self._preflight()
            if self.options.resource_service_port is not None:
                await self._serve_resources(self.options.resource_service_port)
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
            self.phase = "stopping"
            self.operator.accepting = False
            await self._shutdown()
            self.model.close()
            if self.resource_server is not None:
                await self.resource_server.stop()
            if self.control is not None:
                await self.control.stop()
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

    async def _serve_resources(self, port: int) -> None:
        """Aspire's resource service, for its dashboard; its key, or the run's token, opens it."""
        from .aspire.server import ResourceServer  # grpcio: the 'dashboard' extra

        key = self.options.resource_service_key
        keys = (reveal(self.parameters.resolve(key)) if key else "",
                self.control.token if self.control else "")  # fmt: skip
        self.resource_server = ResourceServer(self, port=port, keys=keys)
        url = await self.resource_server.start()
        self.printer.info(f"Aspire resource service: {url}")
        if self.control is not None:
            self.control.state.resource_service = url
            self.control.publish()

    # -- while running -------------------------------------------------------------------
    def _print_table(self) -> None:
        rows = [item.row(self.resolver) for item in self._items()]
        self.printer.table(["NAME", "KIND", "STATE", "HEALTH", "URL"], rows)
        if self.control is not None:
            self.control.publish(
                {v.name: [e.url for e in v.endpoints] for v in self.model.snapshot()}
            )
            self.printer.info(f"dashboard: {self.control.state.login_url}")
        self.printer.info("all resources are up; press Ctrl-C to stop")

    async def _supervise(self) -> None:
        self.phase = "running"
        self.operator.accepting = True
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
        if item.state in (states.STOPPING, states.STOPPED) or self.operator.busy(item):
            return
        if item.state == states.RESTARTING:
            if item.restart_at is not None and time.monotonic() >= item.restart_at:
                await self.operator.restart_after_crash(item)
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
        self.operator.schedule_restart(item)

    async def _ending(self, item: Tracked) -> str | None:
        """How ``item`` ended, or None while it still runs."""
        if item.process is not None:
            code = item.process.returncode
            if code is None:
                return None
            item.exit_code = code
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
        item.exit_code = exit_code
        if exit_code < 0:
            return f"container {item.runner.name} is gone (removed?)"
        return f"container exited with code {exit_code}"

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
            item.state = states.STOPPING
            if item.process is not None:
                await item.process.stop(grace=0.0 if self._forced else grace)
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
            item.state, item.health = states.STOPPED, "-"
        self.printer.info("stopped")
