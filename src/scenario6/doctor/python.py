"""The interpreter and the project venv."""

from __future__ import annotations

import sys

from scenario6.setup import project

from .result import CheckResult, Context, Status

_SETUP = "run `python3 setup_scenario6.py` (or ./run.sh)"


def check_python(ctx: Context, version: tuple[int, ...] | None = None) -> CheckResult:
    version = version or tuple(sys.version_info[:3])
    shown = ".".join(str(v) for v in version)
    problem = project.python_problem(version)
    if problem:
        return CheckResult(
            "python", Status.FAIL, problem, f"install Python {project.MIN_PYTHON_TEXT} or newer"
        )
    return CheckResult("python", Status.OK, f"Python {shown}")


def check_venv(ctx: Context) -> CheckResult:
    python = project.venv_python(ctx.root)
    where = project.venv_dir(ctx.root)
    if not python.exists():
        return CheckResult("venv", Status.FAIL, f"no virtual environment at {where}", _SETUP)
    stamp = project.read_stamp(ctx.root)
    if stamp is None:
        return CheckResult(
            "venv",
            Status.FAIL,
            f"{where} exists but scenario6 was never installed into it",
            _SETUP,
        )
    if stamp != project.install_digest(ctx.root):
        return CheckResult(
            "venv",
            Status.FAIL,
            f"{where} is out of date: pyproject.toml or requirements.lock changed since install",
            _SETUP,
        )
    return CheckResult("venv", Status.OK, f"{where} matches pyproject.toml and requirements.lock")
