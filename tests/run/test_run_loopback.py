"""``scenario6 run --backend loopback``: backend container, native frontend, edits served live."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest

from scenario6.apphost import Operation, load_apphost
from tests.run.conftest import RunCommand
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.docker import docker_cli
from tests.support.servers import HOST, free_port

pytestmark = pytest.mark.docker
CONTAINER_BACKEND = ["--backend", "loopback", "--backend-runtime", "container"]
# Printed once every resource passed its health gate: interrupting later is not a start-up abort.
ALL_UP = "all resources are up"

EDIT = """

@router.get("/api/edited-by-test")
def edited_by_test() -> dict[str, str]:
    return {"edited": "yes"}
"""


def container_env(base_image: str) -> tuple[dict[str, str], int, int]:
    """Host networking (no bridge here), the local base image, and free ports."""
    moshi_port, frontend_port = free_port(), free_port()
    env = {
        "SCENARIO6_CONTAINER_NETWORK": "host",
        "SCENARIO6_BASE_IMAGE": base_image,
        "MOSHI_PORT": str(moshi_port),
        "FRONTEND_PORT": str(frontend_port),
    }
    return env, moshi_port, frontend_port


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.load(reply)


def containers_of(app_id: str) -> list[tuple[str, str, str]]:
    out = docker_cli(
        "ps", "-a", "--filter", f"label=scenario6.app={app_id}",
        "--format", '{{.ID}}\t{{.State}}\t{{.Label "scenario6.lifetime"}}',
    )  # fmt: skip
    return [tuple(line.split("\t")) for line in out.splitlines() if line]  # type: ignore[misc]


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
    workspace: Path, run_command: type[RunCommand], base_image: str
) -> None:
    env, moshi_port, frontend_port = container_env(base_image)
    app_id = load_apphost(workspace / "apphost.py", Operation.RUN).app_id
    args = CONTAINER_BACKEND
    try:
        run = run_command(workspace, args, env)
        run.wait_output(ALL_UP, timeout=900)  # a cold CI machine builds the image first

        config = get_json(f"http://{HOST}:{frontend_port}/api/config")
        assert isinstance(config, dict)
        assert [b["url"] for b in config["backends"]] == [f"ws://127.0.0.1:{moshi_port}/api/chat"]
        assert get_json(f"http://{HOST}:{moshi_port}/health")["backend"] == "loopback"  # type: ignore[index]
        (container_id, state, lifetime), *_ = containers_of(app_id)
        assert (state, lifetime) == ("running", "persistent")
        output = run.output()
        assert "scenario6-frontend" in output and "| " in output
        assert "scenario6-moshi     container  running  healthy" in output

        asyncio.run(talk_through(frontend_port))

        health_module = workspace / "src" / "scenario6" / "frontend" / "routes" / "health.py"
        original = health_module.read_text()
        health_module.write_text(original + EDIT)
        edited = f"http://{HOST}:{frontend_port}/api/edited-by-test"
        run.wait_healthy(edited, timeout=60)
        assert get_json(edited) == {"edited": "yes"}

        run.interrupt()
        assert run.wait_exit(60) == 0, run.output()
        assert run.left_behind() == []
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((HOST, frontend_port))  # the frontend let go of its port
        assert [c[1:] for c in containers_of(app_id)] == [("running", "persistent")]
        assert "left running" in run.output()

        # Unchanged sources → the same image and spec hash → the same container, reused.
        health_module.write_text(original)
        again = run_command(workspace, args, env)
        again.wait_output(ALL_UP, timeout=300)
        assert containers_of(app_id)[0][0] == container_id
        assert "reusing persistent container" in again.output()
        again.interrupt()
        assert again.wait_exit(60) == 0
    finally:
        for container in containers_of(app_id):
            docker_cli("rm", "-f", container[0], check=False)


def test_frontend_falls_back_to_docker_when_no_venv_can_be_made(
    workspace: Path, run_command: type[RunCommand], base_image: str
) -> None:
    shutil.rmtree(workspace / ".venv")
    (workspace / ".venv").write_text("a file where the venv should be\n")
    env, moshi_port, frontend_port = container_env(base_image)
    app_id = load_apphost(workspace / "apphost.py", Operation.RUN).app_id
    try:
        run = run_command(
            workspace, ["--backend", "loopback", "--backend-runtime", "container"], env
        )
        run.wait_output(ALL_UP, timeout=900)
        assert "Falling back to the frontend in Docker" in run.output()
        config = get_json(f"http://{HOST}:{frontend_port}/api/config")
        assert isinstance(config, dict)
        assert config["backends"][0]["url"] == f"ws://127.0.0.1:{moshi_port}/api/chat"
        assert sorted(c[2] for c in containers_of(app_id)) == ["persistent", "session"]
        run.interrupt()
        assert run.wait_exit(60) == 0, run.output()
        assert [c[2] for c in containers_of(app_id)] == ["persistent"]  # the frontend's is gone
    finally:
        for container in containers_of(app_id):
            docker_cli("rm", "-f", container[0], check=False)
