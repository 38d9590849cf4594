"""Reading pyproject.toml and requirements.lock: the pins for one Python version."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # tomllib is new in 3.11; tomli is the same parser (the dev extra pins it on 3.10)
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
# The Python versions the project supports; a pin's marker may single out some of them.
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def locked(python_version: str | None = None, full_version: str | None = None) -> dict[str, str]:
    """Canonical name → pinned version, for the lines whose marker (if any) holds on that
    Python (this interpreter's by default; ``full_version``, e.g. 3.11.2, names a release);
    a name locked twice for one version is an error."""
    environment = None if python_version is None else {"python_version": python_version}
    if full_version is not None:
        major_minor = ".".join(full_version.split(".")[:2])
        environment = {"python_version": major_minor, "python_full_version": full_version}
    pins: dict[str, str] = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            (spec,) = requirement.specifier
            name = canonicalize_name(requirement.name)
            assert name not in pins, f"{name} is locked twice for Python {python_version}"
            pins[name] = spec.version
    return pins
