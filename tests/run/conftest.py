"""Fixtures for ``scenario6 run``: a throw-away copy of the repository and the command itself."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, NamedTuple

import pytest

from scenario6.apphost import Operation, load_apphost
from scenario6.bench.reload import make_workspace
from scenario6.run.control import state
from tests.support.docker import base_image, docker, docker_cli
from tests.support.servers import free_port

__all__ = ["base_image", "docker"]  # fixtures the tests here use


class RunCommand:
    """``scenario6 run`` as a child in its own process group, output captured to a file."""

    started: ClassVar[list[RunCommand]] = []  # set per test by run_command, for teardowns

    def __init__(self, cwd: Path, args: list[str], env: dict[str, str]) -> None:
        self.log = cwd / f"run-{time.monotonic_ns()}.log"
        self._sink = self.log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "scenario6", "run", *args],
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdin=subprocess.DEVNULL,
            stdout=self._sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # Everything the run started, noted while it runs: its children live in their own
        # sessions, so its process group alone cannot show what it leaves behind.
        self.family: dict[int, str] = {}

    def note_family(self) -> None:
        self.family |= descendants(self.popen.pid)

    def left_behind(self) -> list[str]:
        """Command lines of processes the run started that outlive it."""
        alive = processes()
        return [
            command
            for pid, command in self.family.items()
            if pid in alive and alive[pid].command == command
        ] + group_alive(self.popen.pid)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.note_family()
            if self.popen.poll() is not None:
                pytest.fail(f"scenario6 run exited {self.popen.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
            time.sleep(0.1)
        pytest.fail(f"{url} not healthy after {timeout} s:\n{self.output()[-4000:]}")

    def wait_output(self, text: str, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            self.note_family()
            if time.monotonic() > deadline or self.popen.poll() is not None:
                pytest.fail(f"never saw {text!r} (x{count}):\n{self.output()[-3000:]}")
            time.sleep(0.05)

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"scenario6 run did not exit within {timeout} s:\n{self.output()[-3000:]}")

    def interrupt(self, sig: int = signal.SIGINT) -> None:
        self.note_family()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, sig)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.interrupt()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        # Whatever the run left (it should be nothing) goes too, whole groups at a time.
        alive = processes()
        groups = {self.popen.pid}
        family = self.family.items()
        groups |= {alive[p].group for p, cmd in family if p in alive and alive[p].command == cmd}
        for group in groups - {os.getpgrp()}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        self._sink.close()


@pytest.fixture
def run_command() -> Iterator[type[RunCommand]]:
    started: list[RunCommand] = []

    class Tracked(RunCommand):
        def __init__(self, cwd: Path, args: list[str], env: dict[str, str]) -> None:
            super().__init__(cwd, args, env)
            started.append(self)

    Tracked.started = started
    yield Tracked
    for command in started:
        command.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the repository whose .venv runs the copy's sources; the real tree stays as is."""
    return make_workspace(tmp_path / "repo")


CONTAINER_BACKEND = ["--backend", "loopback", "--backend-runtime", "container"]
# Printed once every resource passed its health gate: interrupting later is not a start-up abort.
ALL_UP = "all resources are up"


@dataclass
class ContainerApp:
    """The repository's app with its backend in a container: environment, ports, containers."""

    app_id: str
    moshi_port: int = field(default_factory=free_port)
    frontend_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)

    def containers(self) -> list[tuple[str, str, str]]:
        """(id, state, lifetime) of each container the app has."""
        out = docker_cli(
            "ps", "-a", "--filter", f"label=scenario6.app={self.app_id}",
            "--format", '{{.ID}}\t{{.State}}\t{{.Label "scenario6.lifetime"}}',
        )  # fmt: skip
        return [tuple(line.split("\t")) for line in out.splitlines() if line]  # type: ignore[misc]


@pytest.fixture
def container_app(
    workspace: Path, base_image: str, run_command: type[RunCommand]
) -> Iterator[ContainerApp]:
    """Host networking (no bridge here), the local base image, free ports; containers removed
    once every run is stopped (a run still going would bring its containers back)."""
    app = ContainerApp(load_apphost(workspace / "apphost.py", Operation.RUN).app_id)
    app.env = {
        "SCENARIO6_CONTAINER_NETWORK": "host",
        "SCENARIO6_BASE_IMAGE": base_image,
        "MOSHI_PORT": str(app.moshi_port),
        "FRONTEND_PORT": str(app.frontend_port),
    }
    yield app
    for command in run_command.started:
        command.close()
    for container in app.containers():
        docker_cli("rm", "-f", container[0], check=False)


class Process(NamedTuple):
    parent: int
    group: int
    command: str


def processes() -> dict[int, Process]:
    """Every live (not zombie) process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(entry.name)] = Process(int(fields[1]), int(fields[2]), command)
    return found


def group_alive(pgid: int) -> list[str]:
    """Command lines of live processes still in process group ``pgid``."""
    return [p.command for p in processes().values() if p.group == pgid]


def descendants(root: int) -> dict[int, str]:
    """Children, grandchildren… of ``root``: pid → command line."""
    table = processes()
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, process in table.items():
            if process.parent == parent and pid not in found:
                found[pid] = process.command
                frontier.append(pid)
    return found


def scenario6(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scenario6", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )  # fmt: skip


class Family:
    """What a detached run started, noted while it runs; killed at the end if still there."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.pid: int | None = None
        self.members: dict[int, str] = {}

    def note(self) -> None:
        found = state.read(self.workspace)
        if found is not None:
            self.pid = found.pid
            self.members |= descendants(found.pid)

    def left_behind(self) -> list[str]:
        alive = processes()
        mine = [cmd for pid, cmd in self.members.items() if alive.get(pid, None) is not None
                and alive[pid].command == cmd]  # fmt: skip
        return mine + (group_alive(self.pid) if self.pid else [])

    def kill(self) -> None:
        alive = processes()
        groups = {alive[p].group for p, cmd in self.members.items() if p in alive}
        for group in groups | ({self.pid} if self.pid else set()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)


@pytest.fixture
def family(workspace: Path) -> Iterator[Family]:
    noted = Family(workspace)
    yield noted
    noted.kill()
