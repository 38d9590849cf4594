"""The scripts that give a fresh machine its Docker engine, Compose v2 and base image."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.docker import REPO, docker_cli

pytestmark = pytest.mark.docker


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_engine_script_is_idempotent_and_provides_compose_v2(docker: str) -> None:
    for _ in range(2):
        result = _script("docker-engine.sh")
        assert result.returncode == 0, result.stderr
    assert "Starting dockerd" not in result.stderr  # an answering engine is left alone
    version = docker_cli("compose", "version", "--short").strip()
    assert version.lstrip("v").startswith("2."), version


def test_base_image_script_reuses_the_tag(base_image: str) -> None:
    result = _script("base-image.sh", base_image)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == base_image
    assert "debootstrap" not in result.stderr
    run = ("run", "--rm", "--network", "none", "--label", "scenario6.test=1")
    python = docker_cli(*run, base_image, "python3", "--version")
    assert python.startswith("Python 3.")
