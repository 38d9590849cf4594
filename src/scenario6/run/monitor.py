"""Health after start-up: probe what is running and say when a resource falls over or recovers."""

from __future__ import annotations

import asyncio

from .health import get_status
from .printer import Printer
from .resolve import RunResolver
from .tracked import Tracked

INTERVAL = 2.0
# One slow answer is not an outage (a model server busy with a request may answer late), so a
# resource is called unhealthy after this many failed probes in a row, as Docker's retries do.
FAILURES = 2


class HealthMonitor:
    """Keeps ``Tracked.health`` true after start-up and prints every change of it.

    Crashes are noticed by the supervisor (the process or container exits); this catches the rest:
    a server that hangs, deadlocks or answers errors while its process is still alive.
    """

    def __init__(
        self,
        resolver: RunResolver,
        printer: Printer,
        interval: float = INTERVAL,
        failures: int = FAILURES,
    ) -> None:
        self.resolver = resolver
        self.printer = printer
        self.interval = interval
        self.failures = failures

    def unhealthy(self, item: Tracked, why: str) -> None:
        if item.health != "unhealthy":
            item.health = "unhealthy"
            self.printer.warn(f"{item.resource.name} is unhealthy: {why}")

    def healthy(self, item: Tracked) -> None:
        """Record a passed health gate; the message tells a recovery from a first start."""
        checked = bool(item.resource.health_checks)
        again = item.was_healthy
        item.health = "healthy" if checked else "-"
        item.was_healthy = True
        state = "healthy" if checked else "running"
        self.printer.info(f"{item.resource.name} is {state}{' again' if again else ''}")

    async def watch(self, item: Tracked) -> None:
        """Probe ``item`` until cancelled; only while it runs (restarts report themselves)."""
        resource = item.resource
        urls = [
            (self.resolver.url(resource, check.endpoint, check.path), check.status)
            for check in resource.health_checks
        ]
        misses = 0
        while urls:
            await asyncio.sleep(self.interval)
            if item.state != "running":
                misses = 0
                continue
            why = await self._probe(urls)
            item.record_probe(why is None, why or "answered as expected")
            if why is None:
                misses = 0
                if item.health == "unhealthy" and item.state == "running":
                    self.healthy(item)
                continue
            misses += 1
            if misses >= self.failures and item.state == "running":
                self.unhealthy(item, why)

    @staticmethod
    async def _probe(urls: list[tuple[str, int]]) -> str | None:
        for url, expected in urls:
            status = await asyncio.to_thread(get_status, url)
            if status is None:
                return f"no answer from {url}"
            if status != expected:
                return f"{url} answered HTTP {status}"
        return None
