"""A real ``redis-server`` on a free loopback port, with no persistence: restarted, it is empty.

The state several frontends share in a benchmark (and in the tests of the shared pool).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from typing import TypeVar

import redis

from .harness import HOST, ChildServer, free_port

PROGRAM = "redis-server"


def why_not() -> str:
    """Why no ``redis-server`` can start here (``""`` when it can)."""
    if shutil.which(PROGRAM):
        return ""
    return f"{PROGRAM} not found (apt-get install redis-server, or scripts/system-deps.sh)"


class RedisServer:
    """``redis-server`` that can be stopped and started again on the same port.

    >>> with running(RedisServer()) as server:  # doctest: +SKIP
    ...     server.url
    'redis://127.0.0.1:41234/0'
    """

    def __init__(self, program: str = PROGRAM) -> None:
        self.program = program
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process: ChildServer | None = None

    def arguments(self) -> list[str]:
        """Where it listens: plain TCP on ``port``."""
        return ["--port", str(self.port)]

    def start(self, timeout: float = 10) -> None:
        args = ["--bind", HOST, *self.arguments(), "--save", "", "--appendonly", "no"]
        self.process = ChildServer(args, command=[self.program])
        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    log = self.process.output()
                    raise TimeoutError(f"{self.program} on {self.url}:\n{log}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


Server = TypeVar("Server", bound=RedisServer)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """``server`` started, and stopped when the block ends (or its start fails)."""
    try:
        server.start()
        yield server
    finally:
        server.stop()
