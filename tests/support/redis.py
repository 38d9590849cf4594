"""A real ``redis-server`` for a test: the bench's own, after checking the tool is installed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from scenario6.bench.redis_server import PROGRAM, RedisServer, running
from tests.conftest import require_tool

__all__ = ["RedisServer", "redis_server"]


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    with running(require_tool(PROGRAM)) as server:
        yield server
