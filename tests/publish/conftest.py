"""Publishing for real: the CLI writes a folder; Compose v2 and the Kubernetes schemas judge it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scenario6.cli import main
from scenario6.publish.compose_cli import ComposeMissing, find_compose

REPO = Path(__file__).resolve().parents[2]
SECRET = "hf_test_secret_value"
ACCESS = "alice:access-secret-value"  # invitation codes: must end up in no published file

Publish = Callable[..., Path]


@pytest.fixture
def publish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Publish:
    """``scenario6 publish ARGS`` into a fresh folder, with a token and invitation codes in
    the environment."""
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("ACCESS_CODES", ACCESS)
    for name in ("USE_GPU", "MOSHI_SLOTS"):  # the defaults are the tests' to choose
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(REPO)
    count = 0

    def run(*args: str) -> Path:
        nonlocal count
        count += 1
        out = tmp_path / f"published-{count}"
        assert main(["publish", "--output", str(out), *args]) == 0
        return out

    return run


@pytest.fixture(scope="session")
def compose() -> list[str]:
    try:
        return find_compose()
    except ComposeMissing as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def compose_config(
    compose: list[str], folder: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``docker compose config`` (the real Compose v2 parser and validator) on a folder."""
    environ = {k: v for k, v in os.environ.items() if k not in {"HF_TOKEN", "ACCESS_CODES"}}
    return subprocess.run(
        [*compose, "-f", str(folder / "compose.yaml"), "config", "--format", "json"],
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=folder,
    )


def resolved(compose: list[str], folder: Path) -> dict[str, Any]:
    """The Compose model as Compose itself resolves it, with stand-in secrets."""
    stand_ins = {"HF_TOKEN": "stand-in-for-validation", "ACCESS_CODES": "stand-in:codes-here"}
    result = compose_config(compose, folder, stand_ins)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def assert_says_to_trust_the_proxy(readme: str) -> None:
    """Behind a proxy without TRUSTED_PROXIES, all users share the proxy's address."""
    assert "## Behind a reverse proxy" in readme
    assert "set `TRUSTED_PROXIES` to its" in readme
    assert "wrong-code allowance of the sign-in page" in readme and "session limit" in readme
