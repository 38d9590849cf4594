"""``scenario6 run`` after start-up: a backend that crashes or hangs is reported, brought back
and reported healthy again, and a new conversation works once it is."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.run.conftest import ALL_UP, CONTAINER_BACKEND, ContainerApp, RunCommand, descendants
from tests.support.apphost import write_apphost
from tests.support.client import conversation
from tests.support.docker import docker_cli
from tests.support.servers import HOST, free_port

NATIVE = ["--backend", "loopback", "--backend-runtime", "native"]
MOSHI = "scenario6-moshi"


def chat_url(frontend_port: int) -> str:
    return f"ws://{HOST}:{frontend_port}/api/chat?voice_prompt=NATF2.pt&text_prompt=Hi&events=1"


def native_backend_pid(run: RunCommand) -> int:
    found = [pid for pid, cmd in descendants(run.popen.pid).items() if "backend loopback" in cmd]
    assert len(found) == 1, f"expected one native loopback backend, found {found}"
    return found[0]


async def new_session_works(frontend_port: int) -> None:
    async with conversation(chat_url(frontend_port)) as talk:
        await talk.wait_for(talk.handshake.is_set, timeout=30)
    assert talk.events_of("backend")


async def session_closed_by_crash(
    frontend_port: int, crash: Callable[[], object]
) -> tuple[int | None, float]:
    """Open a session, call ``crash()``; the close code the client got and how long it took."""
    async with conversation(chat_url(frontend_port)) as talk:
        await talk.wait_for(talk.handshake.is_set, timeout=30)
        await asyncio.to_thread(crash)
        began = time.monotonic()  # after the kill command: its own start-up is not the proxy's
        await talk.wait_for(talk.closed.is_set, timeout=10)
        return talk.close_code, time.monotonic() - began


@pytest.fixture
def native_run(workspace: Path, run_command: type[RunCommand]) -> Iterator[tuple[RunCommand, int]]:
    frontend_port = free_port()
    env = {"FRONTEND_PORT": str(frontend_port), "MOSHI_PORT": str(free_port())}
    run = run_command(workspace, NATIVE, env)
    run.wait_output(ALL_UP, timeout=300)
    yield run, frontend_port
    run.interrupt()
    assert run.wait_exit(60) == 0, run.output()
    assert run.left_behind() == []


def test_killed_native_backend_is_reported_restarted_and_healthy_again(
    native_run: tuple[RunCommand, int],
) -> None:
    run, frontend_port = native_run
    pid = native_backend_pid(run)
    code, seconds = asyncio.run(
        session_closed_by_crash(frontend_port, lambda: os.kill(pid, signal.SIGKILL))
    )
    print(f"the client heard of the crash after {seconds * 1000:.0f} ms")
    assert code == 4503
    assert seconds < 2
    run.wait_output(f"{MOSHI} is unhealthy: was killed by SIGKILL", timeout=10)
    run.wait_output(f"restarting {MOSHI}")
    run.wait_output(f"{MOSHI} is healthy again", timeout=60)
    assert native_backend_pid(run) != pid
    asyncio.run(new_session_works(frontend_port))


def test_hung_backend_is_reported_unhealthy_and_healthy_once_it_answers(
    native_run: tuple[RunCommand, int],
) -> None:
    run, _ = native_run
    pid = native_backend_pid(run)
    os.kill(pid, signal.SIGSTOP)  # alive but silent, as a deadlocked server is
    try:
        run.wait_output(f"{MOSHI} is unhealthy: no answer from http://", timeout=30)
    finally:
        os.kill(pid, signal.SIGCONT)
    run.wait_output(f"{MOSHI} is healthy again", timeout=30)
    assert native_backend_pid(run) == pid  # it recovered by itself; nothing was restarted
    assert f"restarting {MOSHI}" not in run.output()


@pytest.mark.docker
def test_killed_backend_container_is_restarted_and_healthy_again(
    workspace: Path, run_command: type[RunCommand], container_app: ContainerApp
) -> None:
    app = container_app
    run = run_command(workspace, CONTAINER_BACKEND, app.env)
    run.wait_output(ALL_UP, timeout=900)
    (container_id, *_), *_ = app.containers()
    code, seconds = asyncio.run(
        session_closed_by_crash(app.frontend_port, lambda: docker_cli("kill", container_id))
    )
    print(f"the client heard of the killed container after {seconds * 1000:.0f} ms")
    assert code == 4503
    assert seconds < 2
    run.wait_output(f"{MOSHI} is unhealthy: container exited with code 137", timeout=15)
    run.wait_output(f"{MOSHI} is healthy again", timeout=120)
    assert [c[:2] for c in app.containers()] == [(container_id, "running")]
    asyncio.run(new_session_works(app.frontend_port))
    run.interrupt()
    assert run.wait_exit(60) == 0, run.output()
    assert run.left_behind() == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_start_up_leaves_nothing_behind(
    tmp_path: Path, run_command: type[RunCommand], sig: signal.Signals
) -> None:
    # A resource that never becomes healthy, so start-up lasts until it is interrupted.
    apphost = write_apphost(
        tmp_path,
        "slow = builder.add_executable('slow', sys.executable, '.', ['-c', "
        '"import subprocess, sys, time; '
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        "print('warming up', flush=True); time.sleep(600)\"])"
        f".with_http_endpoint(port={free_port()}).with_http_health_check('/health')\n"
        "builder.add_executable('after', sys.executable, '.', ['-c', 'print(1)']).wait_for(slow)",
    )
    run = run_command(tmp_path, ["--apphost", str(apphost), *NATIVE, "--timeout", "600"], {})
    run.wait_output("warming up")  # printed once it has started a child of its own
    run.interrupt(sig)
    assert run.wait_exit(30) == 128 + sig, run.output()
    output = run.output()
    assert "interrupted during start-up" in output
    assert "Traceback" not in output and "never retrieved" not in output
    assert len(run.family) >= 2  # the resource and the process it started
    assert run.left_behind() == []


@pytest.mark.docker
def test_interrupt_while_building_leaves_no_build_or_session_container(
    workspace: Path, run_command: type[RunCommand], container_app: ContainerApp
) -> None:
    run = run_command(workspace, CONTAINER_BACKEND, container_app.env)
    run.wait_output("[build]", timeout=300)
    run.interrupt(signal.SIGTERM)
    assert run.wait_exit(60) == 128 + signal.SIGTERM, run.output()
    assert "interrupted during start-up" in run.output()
    assert run.left_behind() == []
    assert "session" not in [c[2] for c in container_app.containers()]
