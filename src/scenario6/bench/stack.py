"""The load benchmark's servers on this machine: loopback backends, and in front of them one
frontend keeping its state in memory or several replicas sharing it in a ``redis-server``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .harness import HOST, ChildServer, free_port, loopback_backend
from .target import Target


@contextlib.contextmanager
def backends(count: int) -> Iterator[str]:
    """``count`` loopback backends of one slot each; yields their ``MOSHI_WS_URL``."""
    ports = [free_port() for _ in range(count)]
    with contextlib.ExitStack() as stack:
        # All started before the first is waited for: they warm up side by side.
        started = [
            stack.enter_context(loopback_backend(["--host", HOST, "--port", str(port)]))
            for port in ports
        ]
        for backend, port in zip(started, ports, strict=True):
            backend.wait_healthy(f"http://{HOST}:{port}/health")
        yield ",".join(f"ws://{HOST}:{port}" for port in ports)


@contextlib.contextmanager
def frontends(
    pool: str, count: int, sessions: int, redis_url: str | None = None
) -> Iterator[list[Target]]:
    """``count`` frontends in front of ``pool``, sharing ``redis_url`` when it is given."""
    env = {
        "MOSHI_WS_URL": pool,
        # Every caller is 127.0.0.1; the warm-up's sessions (one per frontend) may still be
        # counted for a moment while the callers start.
        "MAX_SESSIONS_PER_CLIENT": str(sessions + count),
        "DRAIN_TIMEOUT_S": "1",
        **({"REDIS_URL": redis_url} if redis_url else {}),
    }
    ports = [free_port() for _ in range(count)]
    with contextlib.ExitStack() as stack:
        started = [
            stack.enter_context(
                ChildServer(
                    ["frontend", "--host", HOST, "--port", str(port), "--log-level", "warning"],
                    env=env,
                )
            )
            for port in ports
        ]
        for frontend, port in zip(started, ports, strict=True):
            frontend.wait_healthy(f"http://{HOST}:{port}/health")
        yield [Target.parse(f"http://{HOST}:{port}") for port in ports]
