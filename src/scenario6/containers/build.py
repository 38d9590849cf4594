"""Building an image from a Dockerfile with the detected engine: one command, one error.

``scenario6 run`` streams the build's lines into its log (and stops the build on Ctrl-C);
``deploy`` and ``bench`` call ``build_image``. All of them assemble the command here.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from scenario6.apphost import DockerBuild

from .engine import ContainerRuntime
from .images import image_size

# The engine's last lines an error message can show (it shows up to 15 of them).
_KEPT_LINES = 40


@dataclass(frozen=True)
class BuiltImage:
    """An image built from this repository, with what it cost."""

    tag: str
    seconds: float
    size_bytes: int

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6


class BuildError(RuntimeError):
    """A build that failed; the message ends with the engine's last lines and a hint."""


def build_command(
    runtime: ContainerRuntime,
    tag: str,
    build: DockerBuild,
    *,
    host_network: bool,
) -> list[str]:
    """``<engine> build`` of ``build`` as ``tag``: its Dockerfile, target and build arguments.

    ``host_network`` gives the build's ``RUN`` steps the host's network: an engine started
    without a bridge (``dockerd --bridge=none``, as in sandboxes and CI) has no other network
    for ``RUN pip install``. ``deploy`` and ``bench`` always ask for it (on a normal engine it
    changes nothing in the result); ``run`` only where SCENARIO6_CONTAINER_NETWORK=host, so
    builders that refuse host networking without an entitlement keep working there.
    """
    argv = [runtime.cli, "build", "-t", tag, "-f", str(build.dockerfile)]
    if host_network:
        argv += ["--network", "host"]
    if build.target:
        argv += ["--target", build.target]
    for key, value in build.args:
        argv += ["--build-arg", f"{key}={value}"]
    return [*argv, str(build.context)]


def build_image(
    runtime: ContainerRuntime,
    tag: str,
    build: DockerBuild,
    *,
    host_network: bool = True,
    show_progress: bool = False,
    timeout: float | None = None,
) -> BuiltImage:
    """Build and time ``tag``; raises BuildError with the engine's last lines.

    With ``show_progress`` the engine's output goes to stderr as it comes (a long build shows
    its steps as they run), and its last lines are kept for the error message all the same.
    """
    argv = build_command(runtime, tag, build, host_network=host_network)
    env = dict(runtime.env) if runtime.env is not None else None
    started = time.monotonic()
    if show_progress:
        code, output = _run_showing(argv, env, timeout)
    else:
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        code, output = result.returncode, (result.stdout + result.stderr).splitlines()
    seconds = time.monotonic() - started
    if code != 0:
        raise build_failure(tag, build, code, output)
    return BuiltImage(tag, seconds, image_size(runtime, tag))


def _run_showing(
    argv: Sequence[str], env: dict[str, str] | None, timeout: float | None
) -> tuple[int, list[str]]:
    """Run ``argv`` with its output copied to stderr line by line; its exit code and last lines."""
    tail: collections.deque[str] = collections.deque(maxlen=_KEPT_LINES)
    expired = threading.Event()
    with subprocess.Popen(
        list(argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:

        def expire() -> None:
            expired.set()
            process.kill()

        # The engine may go quiet for minutes (a large layer): the deadline must not wait for
        # its next line.
        timer = threading.Timer(timeout, expire) if timeout is not None else None
        if timer is not None:
            timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stderr.write(line)
                tail.append(line.rstrip("\n"))
        finally:
            if timer is not None:
                timer.cancel()
        code = process.wait()
    if expired.is_set():
        raise subprocess.TimeoutExpired(list(argv), timeout or 0)
    return code, list(tail)


def build_failure(
    tag: str, build: DockerBuild, code: int, last: Sequence[str], purpose: str = ""
) -> BuildError:
    """The error for a failed build: what (and ``purpose``, whom it was for), the exit code,
    the engine's last lines, and a hint."""
    where = build.dockerfile.name + (f", target {build.target}" if build.target else "")
    shown = "\n".join(f"    {line}" for line in last[-15:]) or "    (no output shown above)"
    return BuildError(
        f"building {tag}{f' for {purpose}' if purpose else ''} failed (exit code {code}; "
        f"{where}):\n{shown}{_base_image_hint(last)}"
    )


# What docker and podman say when a FROM image cannot be fetched.
_PULL_FAILURES = (
    "registry-1.docker.io",
    "pull access denied",
    "manifest unknown",
    "no such host",
    "failed to resolve source metadata",
    "error pulling image",
    "initializing source",
)


def _base_image_hint(output: Sequence[str]) -> str:
    if not any(marker in line for line in output for marker in _PULL_FAILURES):
        return ""
    return (
        "\n  The base image could not be fetched (no registry access?). Point "
        "SCENARIO6_BASE_IMAGE at an image this machine has (a mirror of python:3.12-slim, or "
        "scripts/base-image.sh's local base), or run the loopback backend without Docker: "
        "scenario6 run --backend loopback --backend-runtime native"
    )
