"""Which checks a mode needs, the exit code, and the command's text and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scenario6.doctor import Status, run_checks

from .conftest import base_env
from .test_environment_checks import GOOD_TOKEN


def _by_name(report: object) -> dict[str, object]:
    return {r.name: r for r in report.results}  # type: ignore[attr-defined]


def test_loopback_container_without_an_engine_fails(checkout: Path, empty_path: str) -> None:
    env = base_env(PATH=empty_path)
    report = run_checks("run", "loopback", backend_placement="container", env=env, root=checkout)
    assert not report.ok and report.exit_code == 1
    assert [r.name for r in report.failures] == ["container engine"]
    checks = _by_name(report)
    assert checks["hugging face token"].status is Status.SKIP  # type: ignore[attr-defined]


def test_loopback_can_run_natively_without_an_engine(checkout: Path, empty_path: str) -> None:
    report = run_checks("run", "loopback", env=base_env(PATH=empty_path), root=checkout)
    assert _by_name(report)["container engine"].status is Status.WARN  # type: ignore[attr-defined]
    assert report.ok, report.render()


def test_external_backend_needs_no_engine(checkout: Path, empty_path: str) -> None:
    report = run_checks(
        "run", "wss://gpu.example:8998", env=base_env(PATH=empty_path), root=checkout
    )
    checks = _by_name(report)
    assert checks["container engine"].status is Status.WARN  # type: ignore[attr-defined]
    assert report.ok, report.render()


def test_personaplex_needs_token_and_gpu(checkout: Path, empty_path: str) -> None:
    report = run_checks("run", "personaplex", env=base_env(PATH=empty_path), root=checkout)
    failed = {r.name for r in report.failures}
    assert {"container engine", "hugging face token"} <= failed
    assert "gpu memory" not in failed  # a warning: CPU offload may still do


@pytest.mark.parametrize(("use_gpu", "required"), [("1", True), ("", False), ("0", False)])
def test_use_gpu_is_read_as_the_app_model_reads_it(
    checkout: Path, docker: str, use_gpu: str, required: bool
) -> None:
    # An empty USE_GPU is "no GPU" for apphost.py: the GPU check must not block then.
    env = base_env(USE_GPU=use_gpu, HF_TOKEN=GOOD_TOKEN)
    report = run_checks("run", "personaplex", env=env, root=checkout)
    assert _by_name(report)["nvidia container runtime"].required is required  # type: ignore[attr-defined]


def test_publish_only_warns_about_the_gpu(checkout: Path, empty_path: str) -> None:
    env = base_env(PATH=empty_path, HF_TOKEN=GOOD_TOKEN)
    report = run_checks("publish", "auto", env=env, root=checkout)
    assert [r.name for r in report.failures] == ["container engine"]
    assert _by_name(report)["venv"].status is Status.OK  # type: ignore[attr-defined]


def _doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scenario6", "doctor", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_cli_json_and_exit_code(checkout: Path, empty_path: str) -> None:
    secret = "not-a-token-S3CRET"
    env = base_env(PATH=empty_path, HF_TOKEN=secret)
    done = _doctor("--json", "--backend", "personaplex", env=env)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] is False and data["mode"] == "run"
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["container engine"]["status"] == "fail"
    assert checks["container engine"]["required"] is True
    assert checks["hugging face token"]["status"] == "fail"
    assert "S3CRET" not in done.stdout + done.stderr


def test_cli_text(checkout: Path, empty_path: str) -> None:
    done = _doctor("--backend", "personaplex", env=base_env(PATH=empty_path))
    assert done.returncode == 1
    assert "✗ container engine" in done.stdout
    assert "fix: install Docker" in done.stdout
    assert "block `scenario6 run`" in done.stdout
