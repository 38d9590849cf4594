"""Creates the project venv and installs the project into it, pinned by requirements.lock."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .project import EXTRAS, VENV, venv_dir, venv_python, write_stamp


class SetupError(RuntimeError):
    """A set-up step failed; the message says which and how to fix it."""


def interpreter_version(python: str) -> tuple[int, ...]:
    """The version of the interpreter at ``python`` (which may not be this one)."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SetupError(f"cannot run {python}: {exc}") from exc
    return tuple(int(part) for part in out.split())


def create_venv(root: Path, python: str, use_uv: bool, name: str = VENV) -> None:
    target = venv_dir(root, name)
    if use_uv:
        _run([_uv(), "venv", "--python", python, str(target)], root, "uv venv", name)
    else:
        _run([python, "-m", "venv", str(target)], root, "python -m venv", name)


def install(root: Path, use_uv: bool, quiet: bool = True, name: str = VENV) -> None:
    """``pip install -c requirements.lock -e '.[dev,loopback]'`` into the venv ``name``, then
    the stamp."""
    python = str(venv_python(root, name))
    spec = ["-c", "requirements.lock", "-e", f".[{EXTRAS}]"]
    flags = ["--quiet"] if quiet else []
    if use_uv:
        _run(
            [_uv(), "pip", "install", "--python", python, *flags, *spec],
            root,
            "uv pip install",
            name,
        )
    else:
        upgrade = [python, "-m", "pip", "install", *flags, "--upgrade", "pip"]
        _run(upgrade, root, "pip upgrade", name)
        _run([python, "-m", "pip", "install", *flags, *spec], root, "pip install", name)
    write_stamp(root, name)


def uv_available() -> bool:
    return shutil.which("uv") is not None


def _uv() -> str:
    path = shutil.which("uv")
    if path is None:
        raise SetupError("uv is not on PATH (pip install uv)")
    return path


def _run(argv: Sequence[str], cwd: Path, what: str, name: str = VENV) -> None:
    try:
        code = subprocess.run(list(argv), cwd=cwd, check=False).returncode
    except OSError as exc:
        raise SetupError(f"{what} could not start: {exc}") from exc
    if code != 0:
        raise SetupError(
            f"{what} failed (exit {code}); see its output above. "
            f"Fix it, or remove {venv_dir(cwd, name)} and run setup again."
        )
