"""The control API served inside the supervisor's event loop, and its state file kept."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import Generator
from pathlib import Path

import uvicorn

from . import state
from .api import Run, create_api


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The supervisor owns SIGINT and SIGTERM; uvicorn must not take them over.
        yield


class ControlServer:
    """Serves ``run``'s control API on 127.0.0.1 (``port``, or a free one) with a new token;
    ``start`` writes the state file, ``stop`` removes it."""

    def __init__(self, run: Run, app_dir: Path, port: int = 0) -> None:
        self.run = run
        self.app_dir = app_dir
        self.token = secrets.token_urlsafe(32)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            create_api(run, port=self.port, token=self.token),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None
        self.state = state.RunState(
            pid=os.getpid(),
            port=self.port,
            token=self.token,
            started_at=time.time(),
            app=run.app_name,
            app_dir=str(app_dir),
        )

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # it failed to start: say why
            await asyncio.sleep(0.01)
        self.publish()

    def publish(self, resources: dict[str, list[str]] | None = None) -> None:
        """(Re)write the state file, with the resources' URLs once they are known."""
        if resources is not None:
            self.state.resources = resources
        state.write(self.app_dir, self.state)

    async def stop(self) -> None:
        state.remove(self.app_dir, self.state.pid)
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
