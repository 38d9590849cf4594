"""Stand-in engine CLIs on a private PATH: they record their argv and answer like a healthy
engine. Real builds are tested against the real Docker engine (tests/images); these check
which engine each command picks and what it asks of it, for Podman too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# Answers for what the commands ask: the engine's version, Compose v2's version, an image's
# size (`image inspect --format {{.Size}}`); everything else succeeds silently.
STAND_IN = """#!/bin/sh
printf '%s\\037' "${0##*/}" "$@" >> "{log}"
printf '\\n' >> "{log}"
case "$1" in
  info|version) echo 5.2.1 ;;
  compose) [ "$2" = version ] && echo 2.40.3 ;;
  image) echo 123000000 ;;
esac
exit 0
"""


class Engines:
    """Stand-in ``docker``/``podman`` executables in one folder, and what they were asked."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder / "calls.log"
        folder.mkdir()
        self.log.touch()

    def add(self, name: str, script: str | None = None) -> Path:
        """A recording stand-in, or one that runs ``script`` instead."""
        path = self.folder / name
        path.write_text(STAND_IN.replace("{log}", str(self.log)) if script is None else script)
        path.chmod(0o755)
        return path

    def calls(self, name: str | None = None) -> list[list[str]]:
        """Every recorded call as [cli, args...], of ``name`` only when given."""
        calls = [line.split("\x1f")[:-1] for line in self.log.read_text().splitlines()]
        return [c for c in calls if name is None or c[0] == name]

    def env(self, **extra: str) -> dict[str, str]:
        """An environment whose PATH holds only these stand-ins."""
        return {"PATH": str(self.folder), **extra}


@pytest.fixture
def engines(tmp_path: Path) -> Engines:
    return Engines(tmp_path / "engines")


@pytest.fixture
def only_stand_ins(engines: Engines, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point this process's PATH at the stand-ins (and drop the engine choice variables)."""

    def use(*names: str) -> None:
        for name in names:
            engines.add(name)
        monkeypatch.setenv("PATH", str(engines.folder))
        monkeypatch.delenv("SCENARIO6_CONTAINER_RUNTIME", raising=False)
        monkeypatch.delenv("SCENARIO6_CONTAINER_NETWORK", raising=False)

    return use
