"""pyproject.toml and requirements.lock agree: every dependency is pinned, to the locked version.

The lock is ``pip freeze`` of a venv set up with every extra (``setup_scenario6.py``); the
clean install in test_pip_install.py checks that it also covers what those pins bring in.
"""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .lock import REPO, locked

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirements() -> dict[str, list[Requirement]]:
    """The base dependencies (under ``""``) and each extra's."""
    groups = {"": PROJECT["dependencies"], **PROJECT["optional-dependencies"]}
    return {group: [Requirement(line) for line in lines] for group, lines in groups.items()}


def test_every_dependency_is_pinned_to_the_locked_version() -> None:
    pins = locked()
    wrong = []
    for group, requirements in _requirements().items():
        for requirement in requirements:
            if canonicalize_name(requirement.name) == PROJECT["name"]:
                continue  # one extra including others
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue  # a pin for another Python
            pinned = [spec.version for spec in requirement.specifier if spec.operator == "=="]
            lock = pins.get(canonicalize_name(requirement.name))
            if pinned != [lock]:
                wrong.append(f"[{group}] {requirement} (lock: {lock})")
    assert not wrong, wrong


def test_extras_that_include_others_name_real_ones() -> None:
    extras = set(PROJECT["optional-dependencies"])
    for requirements in _requirements().values():
        for requirement in requirements:
            if canonicalize_name(requirement.name) == PROJECT["name"]:
                assert requirement.extras <= extras, requirement
