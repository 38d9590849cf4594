"""A throw-away checkout and environment for each doctor test, plus the real Docker engine."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from scenario6.setup import project
from tests.support.docker import base_image, docker

__all__ = ["base_image", "docker"]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A minimal checkout whose .venv is installed and in sync."""
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (root / "requirements.lock").write_text("")
    python = project.venv_python(root)
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    project.write_stamp(root)
    return root


@pytest.fixture
def tools(tmp_path: Path) -> Callable[[str, str], Path]:
    """Put a small executable on a private PATH directory; returns that directory."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)

    def add(name: str, script: str) -> Path:
        path = folder / name
        path.write_text("#!/bin/sh\n" + script + "\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return folder

    return add


@pytest.fixture
def empty_path(tmp_path: Path) -> str:
    """A PATH that finds no tool at all."""
    folder = tmp_path / "nothing"
    folder.mkdir()
    return str(folder)


def base_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything the checks read, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in _READ}
    return {**env, **extra}


_READ = {
    "HF_TOKEN",
    "DOCKER_HOST",
    "SCENARIO6_CONTAINER_RUNTIME",
    "SCENARIO6_BACKEND_RUNTIME",
    "FRONTEND_PORT",
    "MOSHI_PORT",
    "USE_GPU",
    "MOSHI_SLOTS",
}
