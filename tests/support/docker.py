"""A real Docker engine for tests: the local base image, image builds, labelled containers.

The engine here runs without a bridge (``dockerd --bridge=none``), so every build and every
container uses the host network; each service gets its own free port on 127.0.0.1.
Containers and volumes carry ``scenario6.test=1`` and this session's id, and are removed
when the test ends, even when it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from scenario6.bench.images import build_on
from scenario6.containers import BuiltImage, ContainerRuntime, RuntimeUnavailable, image_exists
from scenario6.run.health import get_status

__all__ = ["BuiltImage", "build_image"]  # re-exported for tests

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI") == "true"
BASE_IMAGE = os.environ.get("SCENARIO6_BASE_IMAGE", "scenario6-test-base:bookworm")
LABEL = "scenario6.test"
SESSION = uuid.uuid4().hex[:12]
# The real engine of this tier; Podman is covered by a recording stand-in (tests/containers).
DOCKER = ContainerRuntime("docker")


def _missing(message: str) -> NoReturn:
    """Locally a missing engine skips; CI must provide it (.ci/run), so there it fails."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def run_bench(base_image: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``scenario6 bench ARGS`` from the checkout, its images built on ``base_image``."""
    return subprocess.run(
        [sys.executable, "-m", "scenario6", "bench", *args],
        env={**os.environ, "SCENARIO6_BASE_IMAGE": base_image},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def docker_cli(*args: str, timeout: float = 60, check: bool = True) -> str:
    result = DOCKER.run(*args, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} failed: {result.stderr.strip()}")
    return result.stdout


@pytest.fixture(scope="session")
def docker() -> Iterator[str]:
    """The docker CLI's path, once the engine answers; removes this session's leftovers."""
    path = shutil.which("docker")
    if path is None:
        _missing("docker is not installed (apt-get install docker.io)")
    try:
        DOCKER.check_engine()
    except RuntimeUnavailable as problem:
        _missing(f"no Docker engine answers (scripts/docker-engine.sh starts one): {problem}")
    _remove_exited_leftovers()
    yield path
    _remove_labelled(f"{LABEL}.session={SESSION}")


@pytest.fixture(scope="session")
def base_image(docker: str) -> str:
    """The local Debian base image tag, made by scripts/base-image.sh when missing."""
    if not image_exists(DOCKER, BASE_IMAGE):
        if os.geteuid() != 0 or shutil.which("debootstrap") is None:
            _missing(f"{BASE_IMAGE} is missing and building it needs root and debootstrap")
        result = subprocess.run(
            [str(REPO / "scripts" / "base-image.sh"), BASE_IMAGE],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"scripts/base-image.sh failed:\n{result.stderr[-3000:]}")
    return BASE_IMAGE


FRONTEND_TAG = "scenario6-frontend:test"
LOOPBACK_TAG = "scenario6-loopback:test"


def build_image(
    tag: str,
    base: str,
    *,
    dockerfile: str = "Dockerfile",
    target: str | None = None,
    build_args: dict[str, str] | None = None,
) -> BuiltImage:
    """An image of this checkout built as ``scenario6 bench`` builds it, on ``base``."""
    return build_on(DOCKER, base, tag, dockerfile=dockerfile, target=target, build_args=build_args)


@pytest.fixture(scope="session")
def frontend_image(base_image: str) -> BuiltImage:
    """The frontend image (``Dockerfile``), built once per session as FRONTEND_TAG."""
    return build_image(FRONTEND_TAG, base_image)


@pytest.fixture(scope="session")
def loopback_image(base_image: str) -> BuiltImage:
    """The backend image's loopback target, built once per session as LOOPBACK_TAG."""
    return build_image(LOOPBACK_TAG, base_image, dockerfile="moshi/Dockerfile", target="loopback")


def image_config(tag: str) -> dict[str, object]:
    config: dict[str, object] = json.loads(
        docker_cli("image", "inspect", "--format", "{{json .Config}}", tag)
    )
    return config


@dataclass
class Container:
    """A running test container, with what a failing test wants to see: its logs."""

    id: str
    image: str

    def logs(self, tail: int = 40) -> str:
        result = DOCKER.run("logs", "--tail", str(tail), self.id)
        return result.stdout + result.stderr

    def health(self) -> str:
        """Docker's own HEALTHCHECK verdict: starting, healthy or unhealthy."""
        state = json.loads(docker_cli("inspect", "--format", "{{json .State}}", self.id))
        if not state.get("Running"):
            return f"exited ({state.get('ExitCode')})"
        return str((state.get("Health") or {}).get("Status", "none"))

    def stop(self, grace_s: int = 10) -> tuple[float, int]:
        """``docker stop`` (SIGTERM, SIGKILL after ``grace_s``): seconds taken, exit code."""
        started = time.monotonic()
        docker_cli("stop", "-t", str(grace_s), self.id, timeout=grace_s + 30)
        seconds = time.monotonic() - started
        code = docker_cli("inspect", "--format", "{{.State.ExitCode}}", self.id).strip()
        return seconds, int(code)

    def exec(self, *argv: str) -> str:
        return docker_cli("exec", self.id, *argv)

    def wait_healthy(self, url: str, timeout: float = 90) -> None:
        """Until Docker reports healthy and ``url`` answers 200; errors carry the logs."""
        started = time.monotonic()
        status, seen = "starting", None
        while time.monotonic() - started < timeout:
            status = self.health()
            if status.startswith("exited"):
                break
            seen = get_status(url)
            if status == "healthy" and seen == 200:
                return
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        raise AssertionError(
            f"{self.image} not healthy after {elapsed:.0f} s: docker says {status}, "
            f"{url} gave {seen or 'no answer'}. Last log lines:\n{self.logs()}"
        )


@contextlib.contextmanager
def run_container(
    image: str,
    *,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    volumes: Mapping[str, str] | None = None,
    health_interval_s: float = 1.0,
) -> Iterator[Container]:
    """``docker run -d --network host`` with test labels; removed on exit, whatever happens.

    ``volumes`` maps a volume name or host path to ``container_path[:ro]``. The health
    check keeps the image's command and only runs more often, so tests wait less.
    """
    argv = ["run", "-d", "--network", "host", "--label", f"{LABEL}=1"]
    argv += ["--label", f"{LABEL}.session={SESSION}"]
    argv += ["--health-interval", f"{health_interval_s}s", "--health-start-period", "60s"]
    for key, value in (env or {}).items():
        argv += ["-e", f"{key}={value}"]
    for source, target in (volumes or {}).items():
        argv += ["-v", f"{source}:{target}"]
    container_id = docker_cli(*argv, image, *args).strip()
    try:
        yield Container(container_id, image)
    finally:
        docker_cli("rm", "-f", "-v", container_id, check=False)


@contextlib.contextmanager
def volume() -> Iterator[str]:
    """A named volume for this test, removed afterwards."""
    name = f"scenario6-test-{uuid.uuid4().hex[:10]}"
    docker_cli(
        "volume", "create", "--label", f"{LABEL}=1", "--label", f"{LABEL}.session={SESSION}", name
    )
    try:
        yield name
    finally:
        docker_cli("volume", "rm", "-f", name, check=False)


def _remove_labelled(label: str) -> None:
    ids = docker_cli("ps", "-aq", "--filter", f"label={label}", check=False).split()
    if ids:
        docker_cli("rm", "-f", "-v", *ids, check=False)
    names = docker_cli("volume", "ls", "-q", "--filter", f"label={label}", check=False).split()
    if names:
        docker_cli("volume", "rm", "-f", *names, check=False)


def _remove_exited_leftovers() -> None:
    # Another test session may be running on this engine: only stopped containers go.
    ids = docker_cli(
        "ps", "-aq", "--filter", f"label={LABEL}=1", "--filter", "status=exited", check=False
    ).split()
    if ids:
        docker_cli("rm", "-f", "-v", *ids, check=False)
