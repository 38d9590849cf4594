"""Where the project is, and whether its venv holds what pyproject.toml and the lock ask for."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

# 3.10 is what Ubuntu 22.04 ships (the base of the CUDA images and of most GPU hosts); the
# dependencies that have dropped it are pinned to their last 3.10 releases there.
MIN_PYTHON = (3, 10)
MIN_PYTHON_TEXT = ".".join(str(v) for v in MIN_PYTHON)
VENV = ".venv"
# Holds install_digest() of the install it records; `scenario6 doctor` compares it.
STAMP = ".scenario6-installed"
EXTRAS = "dev,loopback"


def find_root(start: Path | None = None) -> Path:
    """The repository root: this package's checkout, else the nearest parent with the files."""
    here = Path(__file__).resolve().parents[3]
    if _is_root(here):
        return here
    origin = (start or Path.cwd()).resolve()
    for candidate in (origin, *origin.parents):
        if _is_root(candidate):
            return candidate
    raise FileNotFoundError("no scenario6 checkout found (pyproject.toml + requirements.lock)")


def _is_root(path: Path) -> bool:
    return (path / "pyproject.toml").is_file() and (path / "requirements.lock").is_file()


def install_digest(root: Path) -> str:
    """``cat pyproject.toml requirements.lock | sha256sum``: changes whenever a pin does."""
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "requirements.lock"):
        digest.update((root / name).read_bytes())
    return digest.hexdigest()


def venv_dir(root: Path, name: str = VENV) -> Path:
    return root / name


def venv_python(root: Path, name: str = VENV) -> Path:
    """The interpreter of the venv ``name`` in ``root`` (the project's ``.venv`` by default)."""
    folder = root / name
    return folder / "Scripts" / "python.exe" if os.name == "nt" else folder / "bin" / "python"


def stamp_path(root: Path, name: str = VENV) -> Path:
    return venv_dir(root, name) / STAMP


def read_stamp(root: Path, name: str = VENV) -> str | None:
    try:
        return stamp_path(root, name).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def write_stamp(root: Path, name: str = VENV) -> None:
    stamp_path(root, name).write_text(install_digest(root) + "\n", encoding="utf-8")


def in_sync(root: Path, name: str = VENV) -> bool:
    return read_stamp(root, name) == install_digest(root)


def python_problem(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> str | None:
    """Why this Python cannot run the project, or None when it can."""
    if tuple(version[:2]) >= MIN_PYTHON:
        return None
    found = ".".join(str(v) for v in version)
    return (
        f"Python {found} is too old: scenario6 needs Python {MIN_PYTHON_TEXT} or newer "
        "(its pinned dependencies do)."
    )
