"""Three real frontend replicas sharing one real Redis, in front of the given backends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.support.redis import RedisServer
from tests.support.servers import ChildServer, frontend_process

# Short, so that a killed replica's leases expire within a test's patience.
LEASE_TTL_S = 1.5


@contextlib.contextmanager
def replicas(
    store: RedisServer, *backends: str, **settings: str
) -> Iterator[list[tuple[ChildServer, int]]]:
    """(process, port) of each of three frontends; ``settings`` are more of their environment."""
    env = {
        "MOSHI_WS_URL": ",".join(backends),
        "REDIS_URL": store.url,
        "REDIS_LEASE_TTL_S": str(LEASE_TTL_S),
        **settings,
    }
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(frontend_process(env)) for _ in range(3)]
