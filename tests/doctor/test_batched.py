"""`scenario6 doctor --backend batched`: PersonaPlex's checks, plus the slot count it is given."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenario6.doctor import CheckResult, DoctorReport, Status, run_checks
from scenario6.doctor.result import Mode

from .conftest import base_env
from .test_environment_checks import GOOD_TOKEN

NAME = "conversations per backend"


def _check(report: DoctorReport, name: str = NAME) -> CheckResult:
    return next(r for r in report.results if r.name == name)


def test_batched_needs_what_personaplex_needs(checkout: Path, empty_path: str) -> None:
    batched = run_checks("run", "batched", env=base_env(PATH=empty_path), root=checkout)
    single = run_checks("run", "personaplex", env=base_env(PATH=empty_path), root=checkout)
    assert {r.name for r in batched.failures} == {r.name for r in single.failures}
    assert {"container engine", "hugging face token"} <= {r.name for r in batched.failures}
    assert _check(single).status is Status.SKIP


@pytest.mark.parametrize("mode", ["run", "publish"])
@pytest.mark.parametrize(("value", "summary"), [(None, "MOSHI_SLOTS=auto"), ("6", "up to 6")])
def test_a_usable_slot_count_is_reported(
    checkout: Path, mode: Mode, value: str | None, summary: str
) -> None:
    env = base_env(HF_TOKEN=GOOD_TOKEN, **({"MOSHI_SLOTS": value} if value else {}))
    result = _check(run_checks(mode, "batched", env=env, root=checkout))
    assert result.status is Status.OK, result
    assert summary in result.summary


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_a_slot_count_the_backend_would_refuse_blocks_with_a_fix(
    checkout: Path, where: str
) -> None:
    env = base_env(HF_TOKEN=GOOD_TOKEN)
    if where == ".env":
        (checkout / ".env").write_text("MOSHI_SLOTS=0\n")
    else:
        env["MOSHI_SLOTS"] = "0"
    report = run_checks("publish", "batched", env=env, root=checkout)
    result = _check(report)
    assert result in report.failures
    assert "MOSHI_SLOTS must be at least 1" in result.summary
    assert "whole number ≥ 1, or to auto" in result.fix
    # Only the batched backend reads it.
    loopback = run_checks("publish", "loopback", env=env, root=checkout)
    assert _check(loopback).status is Status.SKIP


def test_the_command_accepts_batched_and_says_json(checkout: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scenario6", "doctor", "--backend", "batched", "--json"],
        env=base_env(MOSHI_SLOTS="many"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=checkout,
    )
    assert done.returncode == 1, done.stderr
    assert '"backend": "batched"' in done.stdout
    assert "MOSHI_SLOTS must be a whole number" in done.stdout
