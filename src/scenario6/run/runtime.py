"""The container runtime on this machine: Docker or Podman, reachable or not, GPUs or not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .process import public_environment


class RuntimeUnavailable(Exception):
    """No usable container engine; the message says what to do."""


@dataclass(frozen=True)
class ContainerRuntime:
    """The CLI to drive (``docker`` or ``podman``) and how containers reach the host network.

    ``network`` is "host" where the engine has no bridge (SCENARIO6_CONTAINER_NETWORK=host),
    otherwise a per-app bridge network.
    """

    cli: str
    network: str | None = None
    # The app model's secrets, kept from the CLI like the known ones (see secret_names).
    withheld: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return Path(self.cli).name

    @property
    def is_podman(self) -> bool:
        return "podman" in self.name

    @property
    def host_network(self) -> bool:
        return self.network == "host"

    @classmethod
    def detect(cls) -> ContainerRuntime:
        """SCENARIO6_CONTAINER_RUNTIME, else docker, else podman; raises when none is installed."""
        network = os.environ.get("SCENARIO6_CONTAINER_NETWORK") or None
        wanted = os.environ.get("SCENARIO6_CONTAINER_RUNTIME")
        for candidate in [wanted] if wanted else ["docker", "podman"]:
            path = shutil.which(candidate)
            if path:
                return cls(path, network)
        if wanted:
            raise RuntimeUnavailable(
                f"SCENARIO6_CONTAINER_RUNTIME={wanted} but no {wanted!r} command is on PATH."
            )
        raise RuntimeUnavailable(
            "Neither docker nor podman is installed. Install Docker Engine "
            "(https://docs.docker.com/engine/install/) or Podman, or run the backend natively "
            "with --backend loopback --backend-runtime native."
        )

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.cli, *args],
            env=public_environment(self.withheld),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def check_engine(self) -> None:
        """Raise with a clear message when the engine (daemon/socket) does not answer."""
        try:
            result = self.run("info", "--format", "{{json .ServerVersion}}", timeout=20)
        except subprocess.TimeoutExpired:
            raise RuntimeUnavailable(f"{self.name} engine did not answer within 20 s.") from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            where = os.environ.get("DOCKER_HOST") or os.environ.get("CONTAINER_HOST")
            start = (
                "start it (e.g. `sudo systemctl start docker`)"
                if not self.is_podman
                else "start it (e.g. `systemctl --user start podman.socket`)"
            )
            raise RuntimeUnavailable(
                f"The {self.name} engine is not running or not reachable"
                f"{f' at {where}' if where else ''}: {start}.\n"
                f"  {self.name} said: {detail[-1] if detail else 'nothing'}"
            )

    def has_nvidia(self) -> bool:
        """True when containers can get NVIDIA GPUs (see ``nvidia_support``)."""
        runtimes = ""
        if not self.is_podman:
            try:
                result = self.run("info", "--format", "{{json .Runtimes}}")
            except subprocess.TimeoutExpired:
                return False
            runtimes = result.stdout if result.returncode == 0 else ""
        return bool(nvidia_support(self.is_podman, runtimes, shutil.which))

    def gpu_args(self) -> list[str]:
        return ["--device", "nvidia.com/gpu=all"] if self.is_podman else ["--gpus=all"]


CDI_DIRS = ("/etc/cdi", "/var/run/cdi")


def nvidia_support(
    podman: bool, docker_runtimes: str, which: Callable[[str], str | None]
) -> list[str]:
    """What lets containers use NVIDIA GPUs here, for ``gpu_args``; empty when nothing does.

    Docker's ``--gpus`` needs the NVIDIA Container Toolkit (or a runtime named ``nvidia``, from
    ``docker info --format '{{json .Runtimes}}'``); Podman's CDI device needs a CDI spec.
    """
    if podman:
        return [f"CDI spec {spec}" for spec in _cdi_specs()]
    found = []
    try:
        runtimes = json.loads(docker_runtimes or "{}")
    except ValueError:
        runtimes = {}
    if isinstance(runtimes, dict) and "nvidia" in runtimes:
        found.append("docker runtime 'nvidia'")
    if which("nvidia-container-runtime-hook") or which("nvidia-ctk"):
        found.append("NVIDIA Container Toolkit")
    return found


def _cdi_specs() -> list[str]:
    specs = []
    for folder in map(Path, CDI_DIRS):
        for spec in sorted(folder.glob("*")) if folder.is_dir() else []:
            try:
                if "nvidia.com/gpu" in spec.read_text(errors="replace"):
                    specs.append(str(spec))
            except OSError:
                continue
    return specs
