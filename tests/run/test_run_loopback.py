"""``scenario6 run --backend loopback``: backend container, native frontend, edits served live."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest

from tests.run.conftest import ALL_UP, CONTAINER_BACKEND, ContainerApp, RunCommand
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.servers import HOST

pytestmark = pytest.mark.docker
EDIT = """

@router.get("/api/edited-by-test")
def edited_by_test() -> dict[str, str]:
    return {"edited": "yes"}
"""


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.load(reply)


async def talk_through(frontend_port: int) -> None:
    url = (
        f"ws://{HOST}:{frontend_port}/api/chat?voice_prompt=NATF2.pt"
        "&text_prompt=Be%20brief.&events=1"
    )
    async with conversation(url) as talk:
        await talk.wait_for(lambda: talk.handshake.is_set(), timeout=60)
        await talk.send_audio(encode_messages(sweep(1.0)))
        await talk.wait_for(lambda: len(talk.decoder.pcm) > 12000, timeout=30)
    backend_events = talk.events_of("backend")
    assert backend_events and backend_events[0]["kind"] == "loopback"


def test_run_loopback_in_a_container_with_native_frontend(
    workspace: Path, run_command: type[RunCommand], container_app: ContainerApp
) -> None:
    app = container_app
    run = run_command(workspace, CONTAINER_BACKEND, app.env)
    run.wait_output(ALL_UP, timeout=900)  # a cold CI machine builds the image first

    config = get_json(f"http://{HOST}:{app.frontend_port}/api/config")
    assert isinstance(config, dict)
    assert [b["url"] for b in config["backends"]] == [f"ws://127.0.0.1:{app.moshi_port}/api/chat"]
    assert get_json(f"http://{HOST}:{app.moshi_port}/health")["backend"] == "loopback"  # type: ignore[index]
    (container_id, state, lifetime), *_ = app.containers()
    assert (state, lifetime) == ("running", "persistent")
    output = run.output()
    assert "scenario6-frontend" in output and "| " in output
    assert "scenario6-moshi     container  running  healthy" in output

    asyncio.run(talk_through(app.frontend_port))

    health_module = workspace / "src" / "scenario6" / "frontend" / "routes" / "health.py"
    original = health_module.read_text()
    health_module.write_text(original + EDIT)
    edited = f"http://{HOST}:{app.frontend_port}/api/edited-by-test"
    run.wait_healthy(edited, timeout=60)
    assert get_json(edited) == {"edited": "yes"}

    run.interrupt()
    assert run.wait_exit(60) == 0, run.output()
    assert run.left_behind() == []
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((HOST, app.frontend_port))  # the frontend let go of its port
    assert [c[1:] for c in app.containers()] == [("running", "persistent")]
    assert "left running" in run.output()

    # Unchanged sources → the same image and spec hash → the same container, reused.
    health_module.write_text(original)
    again = run_command(workspace, CONTAINER_BACKEND, app.env)
    again.wait_output(ALL_UP, timeout=300)
    assert app.containers()[0][0] == container_id
    assert "reusing persistent container" in again.output()
    again.interrupt()
    assert again.wait_exit(60) == 0


def test_frontend_falls_back_to_docker_when_no_venv_can_be_made(
    workspace: Path, run_command: type[RunCommand], container_app: ContainerApp
) -> None:
    shutil.rmtree(workspace / ".venv")
    (workspace / ".venv").write_text("a file where the venv should be\n")
    app = container_app
    run = run_command(workspace, CONTAINER_BACKEND, app.env)
    run.wait_output(ALL_UP, timeout=900)
    assert "Falling back to the frontend in Docker" in run.output()
    config = get_json(f"http://{HOST}:{app.frontend_port}/api/config")
    assert isinstance(config, dict)
    assert config["backends"][0]["url"] == f"ws://127.0.0.1:{app.moshi_port}/api/chat"
    assert sorted(c[2] for c in app.containers()) == ["persistent", "session"]
    run.interrupt()
    assert run.wait_exit(60) == 0, run.output()
    assert [c[2] for c in app.containers()] == ["persistent"]  # the frontend's is gone
