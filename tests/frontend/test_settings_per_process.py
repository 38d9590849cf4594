"""The frontend reads its settings once per process, however it is started: the app, its
routes and the server's protocols share the one object (docs/architecture.md)."""

from __future__ import annotations

import asyncio
import os
import urllib.request
from pathlib import Path

import pytest

from tests.hostile.frontends import WAYS, Frontend, launched
from tests.support.client import conversation
from tests.support.servers import loopback_process

COUNTER = Path(__file__).resolve().parents[1] / "support" / "constructions"


def serve_a_little(frontend: Frontend) -> None:
    """Requests on new connections, each handled by a new protocol object, and a session."""
    for path in ("/health", "/api/config", "/", "/api/config"):
        with urllib.request.urlopen(f"http://127.0.0.1:{frontend.port}{path}", timeout=10):
            pass

    async def talk() -> None:
        async with conversation(frontend.chat_url("Be brief.")) as session:
            await session.wait_for(session.handshake.is_set)

    asyncio.run(talk())


@pytest.mark.parametrize("way", WAYS)
def test_each_process_builds_the_settings_once(way: str, tmp_path: Path) -> None:
    path = os.pathsep.join(filter(None, [str(COUNTER), os.environ.get("PYTHONPATH")]))
    env = {"PYTHONPATH": path, "SCENARIO6_CONSTRUCTIONS": str(tmp_path)}
    with loopback_process() as (_, backend_port):
        backend = f"ws://127.0.0.1:{backend_port}/api/chat"
        with launched(way, backend, settings=env) as frontend:
            serve_a_little(frontend)
            built = {int(f.name): len(f.read_text().splitlines()) for f in tmp_path.iterdir()}
    assert built, f"{way}: no process built FrontendSettings (is the counter loaded?)"
    print(f"{way}: FrontendSettings built per process: {sorted(built.values())}")
    assert all(count == 1 for count in built.values()), f"{way}: built per process {built}"
