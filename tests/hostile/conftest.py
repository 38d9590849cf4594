from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.support.servers import RunningFrontend, RunningLoopback, frontend_server, loopback_server


@dataclass
class Servers:
    lb: RunningLoopback
    fe: RunningFrontend

    def backend_sessions(self) -> list[dict[str, object]]:
        return [r.summary() for r in self.lb.backend.sessions]


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    """A loopback backend behind a frontend whose limits are small enough to reach quickly."""
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url, max_message_bytes=4096) as fe,
    ):
        yield Servers(lb, fe)
