"""What can be done to one resource while the app runs: bring it back after a crash, and the
start, stop, restart and rebuild that the control API asks for."""

# Not "operator.py": run/ is on sys.path of the reloader (run by path), which would shadow
# the standard library's module of that name.
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from . import states
from .commands import CommandUnavailable
from .container import ContainerError
from .health import HealthTimeout
from .printer import Printer
from .starter import Starter, StartupFailed
from .tracked import Tracked

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


class OperationRefused(Exception):
    """An operation that does not apply now (the message says why); nothing was changed."""


class Operator:
    """Acts on resources for the supervisor; one operation per resource at a time."""

    def __init__(self, starter: Starter, printer: Printer, spawn: Spawn) -> None:
        self.starter = starter
        self.printer = printer
        self.spawn = spawn
        self.accepting = False  # set by the supervisor once every resource is up
        self._locks: dict[str, asyncio.Lock] = {}

    # -- after a crash -------------------------------------------------------------------
    def schedule_restart(self, item: Tracked) -> None:
        item.state = states.RESTARTING
        item.restart_at = time.monotonic() + item.backoff
        self.printer.info(f"restarting {item.resource.name} in {item.backoff:.0f} s")
        item.backoff = min(item.backoff * 2, 30.0)

    async def restart_after_crash(self, item: Tracked) -> None:
        """The supervisor's own restart, under the lock a command takes, so that a command
        asked meanwhile is refused as busy instead of racing it."""
        lock = self._lock(item)
        if lock.locked():
            return
        async with lock:
            item.restarts += 1
            await self.revive(item)

    async def revive(self, item: Tracked) -> None:
        """Start ``item`` again, then wait for its health in the background."""
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
            self.schedule_restart(item)
            return
        item.rehealth = self.spawn(self._rehealth(item))

    async def _rehealth(self, item: Tracked) -> None:
        try:
            await self.starter.ready(item)
        except (HealthTimeout, StartupFailed, ContainerError) as error:
            self.printer.warn(
                f"{item.resource.name} did not come back healthy: {str(error).splitlines()[0]}"
            )
            # Still watched: the monitor reports a late recovery, the supervisor another exit.
            item.state, item.health = states.RUNNING, "unhealthy"

    def _lock(self, item: Tracked) -> asyncio.Lock:
        return self._locks.setdefault(item.resource.name, asyncio.Lock())

    def busy(self, item: Tracked) -> bool:
        """Whether a command is under way on ``item`` (the supervisor leaves it alone then)."""
        lock = self._locks.get(item.resource.name)
        return lock is not None and lock.locked()

    # -- on request ----------------------------------------------------------------------
    async def run(self, item: Tracked, command: str) -> None:
        """``command`` (one of COMMANDS) on ``item``; raises OperationRefused when it can't."""
        if not self.accepting:
            raise OperationRefused("the app is still starting (or stopping); try again soon")
        if command not in states.COMMANDS:
            raise OperationRefused(
                f"unknown command {command!r}; use one of {', '.join(states.COMMANDS)}"
            )
        lock = self._lock(item)
        if lock.locked():
            raise OperationRefused(f"{item.resource.name} is busy with another command")
        async with lock:
            name = item.resource.name
            self.printer.info(f"{command} {name} (asked through the control API)")
            if command == "start":
                if item.state != states.STOPPED:
                    raise OperationRefused(f"{name} is not stopped (it is {item.state})")
                await self._start(item)
            elif command == "stop":
                await self._stop(item)
            elif command == "restart":
                await self._stop(item, final=False)
                item.restarts += 1
                await self._start(item)
            else:
                await self._rebuild(item)

    async def _start(self, item: Tracked) -> None:
        item.backoff = 1.0
        await self.revive(item)

    async def _stop(self, item: Tracked, final: bool = True) -> None:
        item.state, item.restart_at = states.STOPPING, None
        if item.rehealth is not None:
            item.rehealth.cancel()
        if item.process is not None:
            item.exit_code = await item.process.stop(grace=self.starter.options.stop_grace)
        if item.runner is not None:
            await item.runner.stop()
        if item.follower is not None:
            await item.follower.stop(grace=1.0)
        item.health = "-"
        if final:
            item.state = states.STOPPED

    async def _rebuild(self, item: Tracked) -> None:
        runner = item.runner
        if runner is None or runner.resource.build is None:
            raise OperationRefused(
                f"{item.resource.name} is not a container built from a Dockerfile here"
            )
        before, item.state = item.state, states.BUILDING
        try:
            item.image_id = await runner.prepare_image()
        finally:
            item.state = before  # what runs keeps running until the new image is there
        await self._stop(item, final=False)
        item.restarts += 1
        await self._start(item)
