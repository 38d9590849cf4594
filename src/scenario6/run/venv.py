"""A Python resource's virtual environment: found or created, installed only when deps change."""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from scenario6.apphost import PythonAppResource
from scenario6.setup import project

from .process import LineSink, public_environment, run_to_end

DEPENDENCY_FILES = (
    "pyproject.toml",
    "requirements.txt",
    "requirements.lock",
    "requirements-dev.txt",
    "setup.py",
    "setup.cfg",
    "uv.lock",
)


class VenvUnavailable(Exception):
    """The environment could not be made or installed; the message says why and what to do."""


def find_venv(resource: PythonAppResource) -> Path:
    """The configured venv, else the nearest ``.venv`` upward from the project, else a new one."""
    if resource.venv is not None:
        return resource.venv
    for folder in (resource.project_dir, *resource.project_dir.parents):
        if (folder / ".venv").is_dir():
            return folder / ".venv"
    return resource.project_dir / ".venv"


def venv_python(venv: Path) -> Path:
    return project.venv_python(venv.parent, venv.name)


def install_stamp(resource: PythonAppResource) -> str:
    """Changes exactly when the dependency files or the install command change."""
    digest = hashlib.sha256()
    installer = resource.installer
    digest.update(repr((installer.tool, installer.args) if installer else None).encode())
    for name in DEPENDENCY_FILES:
        path = resource.project_dir / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def stamp_path(venv: Path, resource: PythonAppResource) -> Path:
    return venv / f".scenario6-{resource.name}.stamp"


def install_command(resource: PythonAppResource, python: Path) -> list[str] | None:
    installer = resource.installer
    if installer is None:
        return None
    if installer.tool == "uv":
        uv = shutil.which("uv")
        if uv is None:
            raise VenvUnavailable(
                f"{resource.name} installs with uv, which is not on PATH: "
                "`pip install uv` or use with_pip()"
            )
        return [uv, "sync", *installer.args]
    args = list(installer.args)
    if not args:
        has_requirements = (resource.project_dir / "requirements.txt").is_file()
        args = ["-r", "requirements.txt"] if has_requirements else ["-e", "."]
    return [str(python), "-m", "pip", "install", "--disable-pip-version-check", *args]


async def prepare(
    resource: PythonAppResource, on_line: LineSink, inherited: Mapping[str, str] | None = None
) -> Path:
    """The venv's interpreter, after creating the venv and installing as needed.

    ``inherited`` is the environment the venv tool and the installer get: without it ours,
    the known secrets left out; a run passes the app model's secrets left out too.
    """
    inherited = public_environment() if inherited is None else inherited
    venv = find_venv(resource)
    python = venv_python(venv)
    if not python.exists():
        on_line(f"creating virtual environment {venv} with {sys.version.split()[0]}…")
        base = getattr(sys, "_base_executable", sys.executable)
        code, last = await run_to_end(
            [base, "-m", "venv", str(venv)], env=inherited, on_line=on_line
        )
        if code != 0 or not python.exists():
            why = last[-1] if last else f"exit code {code}"
            hint = (
                " On Debian/Ubuntu install python3-venv." if "ensurepip" in " ".join(last) else ""
            )
            raise VenvUnavailable(f"could not create {venv}: {why}.{hint}")
    stamp = stamp_path(venv, resource)
    wanted = install_stamp(resource)
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return python
    command = install_command(resource, python)
    if command is not None:
        on_line(f"installing dependencies into {venv} ({' '.join(command[1:])})…")
        # uv sync installs into the project's .venv unless told which environment to fill.
        env = {**inherited, "UV_PROJECT_ENVIRONMENT": str(venv)}
        code, last = await run_to_end(
            command,
            env=env,
            cwd=resource.project_dir,
            on_line=lambda ln: on_line(f"[install] {ln}"),
        )
        if code != 0:
            raise VenvUnavailable(
                f"installing {resource.name}'s dependencies failed (exit code {code}):\n"
                + "\n".join(f"    {line}" for line in last[-10:])
            )
    stamp.write_text(wanted + "\n")
    return python
