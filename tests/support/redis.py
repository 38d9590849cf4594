"""A real ``redis-server`` on a free loopback port, with no persistence: restarted, it is empty."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import redis

from tests.conftest import require_tool
from tests.support.servers import HOST, ChildServer, free_port


class RedisServer:
    """``redis-server`` that a test can stop and start again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process: ChildServer | None = None

    def start(self) -> None:
        args = ["--bind", HOST, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = ChildServer(args, command=[require_tool("redis-server")])
        deadline = time.monotonic() + 10
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=1)
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    log = self.process.output()
                    raise TimeoutError(f"redis-server on {self.url}:\n{log}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
