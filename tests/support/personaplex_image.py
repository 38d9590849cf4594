"""The ``personaplex`` backend images, built here without CUDA and without GitHub.

``moshi/Dockerfile``'s build arguments point it at the local Debian base (its own Python),
the CPU torch wheel in the folder ``PIP_FIND_LINKS`` names, and the vendored PersonaPlex
source (sha256-checked; where it is absent, the Dockerfile's pinned GitHub commit). Both are
served to ``docker build --network host`` by a small HTTP server on 127.0.0.1 that lives only
as long as the build. The image is tagged ``PERSONAPLEX_TAG`` once per test session, so every
test that runs it shares one build; the ``personaplex-batched`` target, the same image content
with the batched server chosen, as ``BATCHED_TAG``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.docker import BuiltImage, Container, _missing, build_image
from tests.support.personaplex.environment import TORCH, VENDORED, VENDORED_SHA256, unavailable

__all__ = ["TORCH"]

PERSONAPLEX_TAG = "scenario6-personaplex:test"
BATCHED_TAG = "scenario6-personaplex-batched:test"
# Build arguments are part of Docker's layer cache key: the same port each time keeps the
# torch layer cached between runs (another free one is used when it is taken).
PREFERRED_PORT = 47998


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """pip's requests would otherwise fill the test output."""


@contextlib.contextmanager
def file_server(folder: Path) -> Iterator[str]:
    """``folder`` served over HTTP on 127.0.0.1 until the block ends; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", PREFERRED_PORT), handler)
    except OSError:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def vendored_source() -> Path | None:
    """The PersonaPlex source archive, checked against the pinned sha256; None where it is
    absent and GitHub answers (the Dockerfile's default source then)."""
    if not VENDORED.is_file():
        reason = unavailable()
        if reason:
            _missing(reason)
        return None
    digest = hashlib.sha256(VENDORED.read_bytes()).hexdigest()
    if digest != VENDORED_SHA256:
        pytest.fail(f"{VENDORED} has sha256 {digest}, expected {VENDORED_SHA256}")
    return VENDORED


def torch_wheels() -> Path:
    folder = Path(os.environ.get("PIP_FIND_LINKS", "/opt/wheels"))
    if not list(folder.glob("torch-2.13.0*.whl")):
        _missing(f"no CPU torch 2.13.0 wheel in {folder} (PIP_FIND_LINKS)")
    return folder


def build_personaplex_image(
    base_image: str, target: str = "personaplex", tag: str = PERSONAPLEX_TAG
) -> BuiltImage:
    """``moshi/Dockerfile --target TARGET`` on ``base_image``, CPU torch, vendored source."""
    source, wheels = vendored_source(), torch_wheels()
    with tempfile.TemporaryDirectory(prefix="scenario6-build-files-") as folder:
        (Path(folder) / "wheels").symlink_to(wheels)
        if source is not None:
            (Path(folder) / source.name).symlink_to(source)
        with file_server(Path(folder)) as url:
            build_args = {
                "CUDA_BASE_IMAGE": base_image,
                "PYTHON_VERSION": "system",
                "TORCH_REQUIREMENT": TORCH,
                "PIP_FIND_LINKS": f"{url}/wheels/",
            }
            if source is not None:
                build_args["PERSONAPLEX_SOURCE"] = f"{url}/{source.name}#subdirectory=moshi"
            return build_image(
                tag, base_image, dockerfile="moshi/Dockerfile", target=target, build_args=build_args
            )


@pytest.fixture(scope="session")
def personaplex_image(base_image: str) -> BuiltImage:
    """The personaplex target, built once per session as PERSONAPLEX_TAG."""
    return build_personaplex_image(base_image)


@pytest.fixture(scope="session")
def batched_image(base_image: str) -> BuiltImage:
    """The personaplex-batched target, built the same way once per session as BATCHED_TAG."""
    return build_personaplex_image(base_image, "personaplex-batched", BATCHED_TAG)


def wait_docker_healthy(container: Container, timeout: float = 300) -> float:
    """Until the image's own HEALTHCHECK passes; seconds taken. Errors carry the logs."""
    started = time.monotonic()
    status = "starting"
    while time.monotonic() - started < timeout:
        status = container.health()
        if status == "healthy":
            return time.monotonic() - started
        if status.startswith("exited"):
            break
        time.sleep(0.5)
    raise AssertionError(
        f"{container.image} not healthy after {time.monotonic() - started:.0f} s "
        f"(docker says {status}). Last log lines:\n{container.logs()}"
    )
