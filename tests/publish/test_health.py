"""A published health check expects the status the app model gave it, whatever renders it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from scenario6.bench.harness import HOST, free_port
from scenario6.publish import kubernetes
from scenario6.publish.compose import healthcheck
from scenario6.publish.spec import Health
from tests.support.servers import loopback_server


@asynccontextmanager
async def no_routes() -> AsyncIterator[int]:
    """A server with no health route, as PersonaPlex is: a 404 for /health once it is up."""
    runner = web.AppRunner(web.Application(), handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, HOST, port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


async def passes(health: Health) -> bool:
    """Whether the Compose healthcheck for ``health`` exits 0, run for real."""
    test = healthcheck(health)["test"]
    assert test[:2] == ["CMD", "python"]
    child = await asyncio.create_subprocess_exec(sys.executable, *test[2:])
    return await asyncio.wait_for(child.wait(), 30) == 0


async def test_the_compose_probe_passes_only_on_the_expected_status() -> None:
    async with no_routes() as port:
        assert await passes(Health(port, status=404))
        assert not await passes(Health(port))
    async with loopback_server() as loopback:
        assert await passes(Health(loopback.port))
        assert not await passes(Health(loopback.port, status=404))


def test_kubernetes_runs_a_command_for_a_status_its_http_probe_cannot_expect() -> None:
    plain = kubernetes._probes(Health(8010), "http")["readinessProbe"]
    assert plain["httpGet"]["path"] == "/health"
    not_found = kubernetes._probes(Health(8998, status=404), "http")["readinessProbe"]
    assert "httpGet" not in not_found
    assert not_found["exec"]["command"] == healthcheck(Health(8998, status=404))["test"][1:]
