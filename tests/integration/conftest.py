"""The whole app, started the two ways a user starts it: ``scenario6 deploy`` and ``scenario6 run``.

Both modes yield a :class:`Stack` on free ports of 127.0.0.1, with any backend: the loopback
stand-in, the real PersonaPlex server (the ``personaplex`` image on a CPU with the tiny random
model mounted, ``USE_GPU=0``), or the batched server on the same model (``personaplex-batched``,
two conversations at once), so the same tests run against all six.
Everything started here is stopped afterwards, also when a test or the start-up fails.
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
from tests.support.docker import SESSION, base_image, docker, docker_cli, frontend_image
from tests.support.personaplex import TinyPersonaPlex
from tests.support.personaplex.fixtures import tiny_personaplex
from tests.support.personaplex_image import (
    BATCHED_TAG,
    PERSONAPLEX_TAG,
    batched_image,
    personaplex_image,
)
from tests.support.servers import free_port

__all__ = [
    "base_image",
    "batched_image",
    "docker",
    "frontend_image",
    "personaplex_image",
    "tiny_personaplex",
]

REPO = Path(__file__).resolve().parents[2]
OVERRIDE = Path(__file__).with_name("compose.host-network.yaml")
# Over OVERRIDE for the real server: its own command line, the tiny model's folder.
PERSONAPLEX_OVERRIDE = Path(__file__).with_name("compose.personaplex.yaml")
SECRET = "hf_test_secret_value"
# The published frontend's access gate: the tests are one invited person.
ACCESS_CODE = "integration-test-code"
ACCESS_CODES = f"tester:{ACCESS_CODE}"
FRONTEND_IMAGE = "scenario6-frontend:test"  # the tags tests/images builds: layers are shared
BACKEND_IMAGE = "scenario6-loopback:test"
START_TIMEOUT_S = 1500  # image builds on a cold cache; a hang still ends
BATCHED_SLOTS = 2
# What each stack's backend is called on the command line, as the proxy reports its kind, and
# its image (the session's own builds).
BACKENDS = {
    "loopback": ("loopback", BACKEND_IMAGE),
    "personaplex": ("personaplex", PERSONAPLEX_TAG),
    "batched": ("personaplex-batched", BATCHED_TAG),
}


@dataclass
class Stack:
    """A running frontend with a backend behind it (``backend``: a key of BACKENDS)."""

    mode: str
    http: str
    backend_port: int
    backend: str = "loopback"
    slots: int = 1  # conversations the backend holds at once
    backend_tls: bool = False  # wss between the frontend and the backend
    ca: Path | None = None
    project: ComposeProject | None = None
    folder: Path | None = None
    figures: dict[str, float] = field(default_factory=dict)
    compose_env: dict[str, str] = field(default_factory=dict)  # what its override files read
    cookie: str | None = None  # the access gate's, once signed in (published stacks)

    @property
    def kind(self) -> str:
        """The backend's kind as the proxy reports it."""
        return BACKENDS[self.backend][0]

    @property
    def image(self) -> str:
        return BACKENDS[self.backend][1]

    @property
    def ssl(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else None

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie} if self.cookie else {}

    @property
    def connect(self) -> dict[str, Any]:
        """How a WebSocket client reaches a session: the CA, the sign-in cookie."""
        return {"ssl": self.ssl, "additional_headers": self.headers}

    def sign_in(self, code: str = ACCESS_CODE) -> None:
        """Trade the invitation code for the gate's cookie, as the sign-in page does."""
        request = urllib.request.Request(
            self.http + "/api/signin",
            data=json.dumps({"code": code}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10, context=self.ssl) as reply:
            self.cookie = reply.headers["Set-Cookie"].split(";")[0]

    def ws(self, voice: str = "NATF2.pt", persona: str = "Be brief.", **extra: str) -> str:
        query = urlencode({"voice_prompt": voice, "text_prompt": persona, **extra})
        scheme = "wss" if self.http.startswith("https") else "ws"
        return f"{scheme}{self.http.removeprefix('https').removeprefix('http')}/api/chat?{query}"

    def get_json(self, path: str) -> Any:
        request = urllib.request.Request(self.http + path, headers=self.headers)
        with urllib.request.urlopen(request, timeout=10, context=self.ssl) as reply:
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
    folder: Path,
    base_image: str,
    *extra: str,
    overrides: tuple[Path, ...] = (OVERRIDE,),
    tiny: TinyPersonaPlex | None = None,
    backend: str = "loopback",
) -> Iterator[Stack]:
    """``scenario6 deploy`` with the test-only host-network override(s): the loopback
    backend, or with ``tiny`` the real server (or the batched one) on a CPU, tiny model."""
    backend_port, frontend_port = free_port(), free_port()
    env = {
        **os.environ,
        "HF_TOKEN": SECRET,  # must end up nowhere: neither backend here needs a token
        "ACCESS_CODES": ACCESS_CODES,
        "SCENARIO6_TEST_MOSHI_PORT": str(backend_port),
        "SCENARIO6_TEST_FRONTEND_PORT": str(frontend_port),
        "SCENARIO6_TEST_SESSION": SESSION,
    }
    assert (tiny is None) == (backend == "loopback"), "the model's backends need the tiny model"
    image = BACKENDS[backend][1]
    slots = BATCHED_SLOTS if backend == "batched" else 1
    if backend == "batched":
        extra = (*extra, "--slots", str(slots))
    if tiny is not None:
        overrides = (*overrides, PERSONAPLEX_OVERRIDE)
        # The CPU build of the backend image needs build arguments that deploy does not pass:
        # both images are the session's own builds. No GPU: no reservation, the server on CPU.
        extra = (*extra, "--no-build", "--no-gpu")
        env |= _on_cpu(tiny) | {"SCENARIO6_TEST_MODEL_DIR": str(tiny.model_dir)}
    project_name = f"scenario6-test-{SESSION}-{folder.name.lower()}"
    argv = [sys.executable, "-m", "scenario6", "deploy", "--backend", backend]
    argv += ["--output", str(folder), "--project-name", project_name]
    argv += ["--wait-timeout", "300", *extra]
    for override in overrides:
        argv += ["--compose-override", str(override)]
    argv += ["--image", f"scenario6-frontend={FRONTEND_IMAGE}"]
    argv += ["--image", f"scenario6-moshi={image}"]
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
            backend,
            slots=slots,
            ca=folder / "certs" / "ca.pem",
            project=project,
            folder=folder,
            figures={"deploy_s": time.monotonic() - started},
            compose_env=env,
        )
        stack.sign_in()
        yield stack
    finally:
        project.down(env=env)


def _on_cpu(tiny: TinyPersonaPlex) -> dict[str, str]:
    """The settings that run the real server without a GPU, from the tiny model's folder."""
    return {"USE_GPU": "0", "PERSONAPLEX_MODEL_DIR": str(tiny.model_dir)}


@contextlib.contextmanager
def run_stack(
    base_image: str, log: Path, tiny: TinyPersonaPlex | None = None, backend: str = "loopback"
) -> Iterator[Stack]:
    """``scenario6 run`` in its own process group, stopped with Ctrl-C: the loopback backend,
    or with ``tiny`` the real server (or the batched one) on a CPU, over TLS with the
    entrypoint's own CA."""
    backend_port, frontend_port = free_port(), free_port()
    env = {
        **os.environ,
        "MOSHI_PORT": str(backend_port),
        "FRONTEND_PORT": str(frontend_port),
        "SCENARIO6_BASE_IMAGE": base_image,
        "SCENARIO6_CONTAINER_NETWORK": "host",  # the test engine has no bridge network
        "HF_TOKEN": SECRET,
    }
    env.pop("ACCESS_CODES", None)  # run mode on localhost: the gate stays off
    assert (tiny is None) == (backend == "loopback"), "the model's backends need the tiny model"
    slots = BATCHED_SLOTS if backend == "batched" else 1
    if tiny is not None:
        env |= _on_cpu(tiny) | {
            "SCENARIO6_BACKEND_IMAGE": BACKENDS[backend][1],
            "MOSHI_USE_SSL": "1",
        }
    if backend == "batched":
        env["MOSHI_SLOTS"] = str(slots)
    argv = [sys.executable, "-m", "scenario6", "run", "--backend", backend, "--no-reload"]
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
        figures = {"run_s": time.monotonic() - started}
        yield Stack("run", http, backend_port, backend, slots, tiny is not None, figures=figures)
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


def backend_container(port: int) -> str:
    """The id of the running backend container listening on ``port`` (either mode)."""
    for container in docker_cli("ps", "-q").split():
        env = docker_cli("inspect", "--format", "{{json .Config.Env}}", container, check=False)
        if f'"MOSHI_PORT={port}"' in env:
            return container
    raise AssertionError(f"no running backend container has MOSHI_PORT={port}")


STACKS = [
    f"{backend}-{mode}"
    for backend in ("loopback", "personaplex", "batched")
    for mode in ("publish", "run")
]


@pytest.fixture(scope="module", params=STACKS)
def stack(
    request: pytest.FixtureRequest, docker: str, base_image: str, tmp_path_factory: Any
) -> Iterator[Stack]:
    backend, mode = str(request.param).split("-")
    tiny: TinyPersonaPlex | None = None
    if backend != "loopback":
        tiny = request.getfixturevalue("tiny_personaplex")
        request.getfixturevalue("batched_image" if backend == "batched" else "personaplex_image")
        request.getfixturevalue("frontend_image")
    if mode == "publish":
        folder = tmp_path_factory.mktemp(f"published-{backend}")
        with published_stack(folder, base_image, tiny=tiny, backend=backend) as running:
            yield running
    else:
        log = tmp_path_factory.mktemp(f"run-{backend}") / "scenario6-run.log"
        with run_stack(base_image, log, tiny, backend) as running:
            yield running
