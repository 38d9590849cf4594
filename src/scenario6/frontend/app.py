"""The frontend's ASGI application: ``create_app(settings)``, and ``app`` for uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from scenario6 import __version__
from scenario6.frontend.telemetry import Observer, observe
from scenario6.frontend.telemetry.prometheus import PrometheusObserver

from .access import Gate
from .access.attempts import SharedAttempts
from .access.revocations import SharedRevocations
from .hosts import HostCheck
from .proxy.drain import Drain
from .proxy.pool import BackendPool
from .proxy.shared import PREFIX, SharedPool
from .proxy.upstream import client_ssl_context
from .routes import chat, config, health, sessions, signin, ui
from .settings import LIFESPAN_KEY, FrontendSettings
from .trust import RealClient

log = logging.getLogger("scenario6.frontend")


def create_app(settings: FrontendSettings, observer: Observer | None = None) -> FastAPI:
    """Build the app around one settings object; tests pass their own."""
    pool = SharedPool(settings) if settings.redis_url else BackendPool(settings)
    # Replicas that share Redis share their sign-outs and count wrong codes together too.
    revocations, attempts = None, None
    if isinstance(pool, SharedPool):
        revocations = SharedRevocations(pool.redis, PREFIX)
        attempts = SharedAttempts(
            pool.redis,
            PREFIX,
            settings.access_attempts_per_minute,
            per_network=settings.access_network_attempts_per_minute,
            total=settings.access_total_attempts_per_minute,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        if settings.moshi_tls_insecure:
            log.warning(
                "MOSHI_TLS_INSECURE is set: wss backends are NOT verified. Use MOSHI_TLS_CA "
                "with the backend's certificate instead outside development."
            )
        log.info("backends: %s", ", ".join(b.url for b in settings.backends))
        health.quiet_probes()
        if metrics is not None:
            metrics.serve(settings.app_host, settings.metrics_port)
        # The server's protocols read their timeouts from these: one settings object.
        await pool.start()
        following = asyncio.create_task(revocations.follow()) if revocations else None
        yield {LIFESPAN_KEY: settings}
        if following is not None:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
        await pool.close()
        await app.state.observer.shutdown()

    app = FastAPI(
        title="Scenario 6 frontend",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.gate = Gate(settings, revocations=revocations, attempts=attempts)
    app.state.drain = Drain(settings.drain_timeout_s)
    # Loading the CA bundle costs ~70 ms at every start and reload: only for wss backends.
    secure = any(backend.secure for backend in settings.backends)
    app.state.tls = client_ssl_context(settings) if secure else None
    metrics = None
    if settings.metrics_port and observer is None:
        metrics = PrometheusObserver(lambda: pool.backends, lambda: pool.queue_length)
    app.state.observer = observer or observe(app, lambda: pool.queue_length, metrics=metrics)
    for module in (health, config, sessions, chat, signin, ui):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=ui.STATIC_DIR), name="static")
    # The last added runs first: unknown Host names are refused before anything else.
    app.add_middleware(RealClient, settings=settings)
    app.add_middleware(HostCheck, settings=settings, open_paths=health.PROBE_PATHS)
    return app


class _AppFromEnvironment:
    """Builds the app from the environment on first use, not at import time.

    Importing ``scenario6.frontend.app`` therefore has no side effects, and a bad setting is
    reported when the server starts rather than when some tool imports the module.
    """

    def __init__(self) -> None:
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = create_app(FrontendSettings())
        await self._app(scope, receive, send)


app = _AppFromEnvironment()
