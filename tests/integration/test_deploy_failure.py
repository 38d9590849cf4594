"""A deploy whose backend cannot start: the command fails and says why, with the logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenario6.publish.compose_cli import ComposeProject
from tests.integration.conftest import (
    ACCESS_CODES,
    BACKEND_IMAGE,
    FRONTEND_IMAGE,
    OVERRIDE,
    REPO,
    SECRET,
)
from tests.support.docker import SESSION
from tests.support.servers import free_port

pytestmark = pytest.mark.docker
BROKEN = Path(__file__).with_name("compose.broken-backend.yaml")


def test_a_backend_that_cannot_start_fails_the_deploy_with_its_logs(
    docker: str, base_image: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "HF_TOKEN": SECRET,
        "ACCESS_CODES": ACCESS_CODES,
        "SCENARIO6_TEST_MOSHI_PORT": str(free_port()),
        "SCENARIO6_TEST_FRONTEND_PORT": str(free_port()),
        "SCENARIO6_TEST_SESSION": SESSION,
    }
    name = f"scenario6-test-{SESSION}-broken"
    argv = [sys.executable, "-m", "scenario6", "deploy", "--backend", "loopback"]
    argv += ["--output", str(tmp_path), "--project-name", name, "--wait-timeout", "120"]
    argv += ["--compose-override", str(OVERRIDE), "--compose-override", str(BROKEN)]
    argv += ["--image", f"scenario6-frontend={FRONTEND_IMAGE}"]
    argv += ["--image", f"scenario6-moshi={BACKEND_IMAGE}", "--base-image", base_image]
    project = ComposeProject(tmp_path / "compose.yaml", (OVERRIDE, BROKEN), name)
    try:
        result = subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500, check=False
        )
        assert result.returncode == 1, result.stdout[-2000:]
        assert "docker compose up` failed" in result.stderr
        assert "--no-such-option" in result.stderr, "the backend's own log lines are shown"
        assert f"-p {name} down)" in result.stderr, "it says how to remove what is left"
        assert f"-p {name} down -v" not in result.stderr, "never suggest deleting the model cache"
        assert SECRET not in result.stdout + result.stderr
    finally:
        project.down(env=env)
