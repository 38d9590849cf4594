"""The whole app, started the two ways a user starts it: ``scenario6 deploy`` and ``scenario6 run``.

Both modes yield a :class:`Stack` on free ports of 127.0.0.1 with the loopback backend, so
the same tests run against either. Everything started here is stopped afterwards, also when
a test or the start-up fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from scenario6.publish.compose_cli import ComposeProject
from tests.support.docker import SESSION, base_image, docker
from tests.support.servers import free_port

__all__ = ["base_image", "docker"]

REPO = Path(__file__).resolve().parents[2]
OVERRIDE = Path(__file__).with_name("compose.host-network.yaml")
SECRET = "hf_test_secret_value"
FRONTEND_IMAGE = "scenario6-frontend:test"  # the tags tests/images builds: layers are shared
BACKEND_IMAGE = "scenario6-loopback:test"
START_TIMEOUT_S = 1500  # image builds on a cold cache; a hang still ends


@dataclass
class Stack:
    """A running frontend with a loopback backend behind it."""

    mode: str
    http: str
    backend_port: int
    ca: Path | None = None
    project: ComposeProject | None = None
    folder: Path | None = None
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def ssl(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else None

    def ws(self, voice: str = "NATF2.pt", persona: str = "Be brief.", **extra: str) -> str:
        query = urlencode({"voice_prompt": voice, "text_prompt": persona, **extra})
        scheme = "wss" if self.http.startswith("https") else "ws"
        return f"{scheme}{self.http.removeprefix('https').removeprefix('http')}/api/chat?{query}"

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.http + path, timeout=10, context=self.ssl) as reply:
            return json.load(reply)


def _wait_http(url: str, context: ssl.SSLContext | None, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    seen = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            seen = str(exc)
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {START_TIMEOUT_S} s: {seen}")


@contextlib.contextmanager
def published_stack(
    folder: Path, base_image: str, *extra: str, overrides: tuple[Path, ...] = (OVERRIDE,)
) -> Iterator[Stack]:
    """``scenario6 deploy --backend loopback`` with the test-only host-network override(s)."""
    backend_port, frontend_port = free_port(), free_port()
    env = {
        **os.environ,
        "HF_TOKEN": SECRET,  # must end up nowhere: the loopback backend needs no token
        "SCENARIO6_TEST_MOSHI_PORT": str(backend_port),
        "SCENARIO6_TEST_FRONTEND_PORT": str(frontend_port),
        "SCENARIO6_TEST_SESSION": SESSION,
    }
    project_name = f"scenario6-test-{SESSION}-{folder.name.lower()}"
    argv = [sys.executable, "-m", "scenario6", "deploy", "--backend", "loopback"]
    argv += ["--output", str(folder), "--project-name", project_name]
    argv += ["--wait-timeout", "300", *extra]
    for override in overrides:
        argv += ["--compose-override", str(override)]
    argv += ["--image", f"scenario6-frontend={FRONTEND_IMAGE}"]
    argv += ["--image", f"scenario6-moshi={BACKEND_IMAGE}"]
    argv += ["--base-image", base_image]
    project = ComposeProject(folder / "compose.yaml", overrides, project_name)
    started = time.monotonic()
    try:
        result = subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S
        )
        if result.returncode != 0:
            pytest.fail(
                f"scenario6 deploy failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
            )
        stack = Stack(
            "publish",
            f"https://127.0.0.1:{frontend_port}",
            backend_port,
            ca=folder / "certs" / "ca.pem",
            project=project,
            folder=folder,
            figures={"deploy_s": time.monotonic() - started},
        )
        yield stack
    finally:
        project.down(env=env)


@contextlib.contextmanager
def run_stack(base_image: str, log: Path) -> Iterator[Stack]:
    """``scenario6 run --backend loopback`` in its own process group, stopped with Ctrl-C."""
    backend_port, frontend_port = free_port(), free_port()
    env = {
        **os.environ,
        "MOSHI_PORT": str(backend_port),
        "FRONTEND_PORT": str(frontend_port),
        "SCENARIO6_BASE_IMAGE": base_image,
        "SCENARIO6_CONTAINER_NETWORK": "host",  # the test engine has no bridge network
        "HF_TOKEN": SECRET,
    }
    argv = [sys.executable, "-m", "scenario6", "run", "--backend", "loopback", "--no-reload"]
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        http = f"http://127.0.0.1:{frontend_port}"
        try:
            _wait_http(f"{http}/health", None, process)
        except AssertionError as exc:
            _stop(process)
            pytest.fail(f"scenario6 run: {exc}\n{log.read_text()[-4000:]}")
        yield Stack("run", http, backend_port, figures={"run_s": time.monotonic() - started})
    finally:
        _stop(process)
        _remove_persistent_backend(backend_port)


def _remove_persistent_backend(port: int) -> None:
    """The app model keeps the backend container across runs (persistent lifetime); this
    test's own one, recognised by its port, goes when the test ends."""
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=scenario6.lifetime=persistent"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout.split()
    for container in ids:
        env = subprocess.run(
            ["docker", "inspect", "--format", "{{json .Config.Env}}", container],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
        if f'"MOSHI_PORT={port}"' in env:
            remove = ["docker", "rm", "-f", "-v", container]
            subprocess.run(remove, capture_output=True, timeout=60, check=False)


def _stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C for the whole group, as a user would press it; then force."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="module", params=["publish", "run"])
def stack(
    request: pytest.FixtureRequest, docker: str, base_image: str, tmp_path_factory: Any
) -> Iterator[Stack]:
    if request.param == "publish":
        with published_stack(tmp_path_factory.mktemp("published"), base_image) as running:
            yield running
    else:
        log = tmp_path_factory.mktemp("run") / "scenario6-run.log"
        with run_stack(base_image, log) as running:
            yield running
