"""pyproject.toml and requirements.lock agree: every dependency is pinned, to the locked version,
on each supported Python.

The lock is ``pip freeze`` of a venv set up with every extra (``setup_scenario6.py``); lines
marked ``python_version < "3.11"`` are the freeze of the same install on 3.10, where some current
releases no longer install; a line marked with a ``python_full_version`` pins what only some
releases need (Debian 12's Python 3.11.2, in the images, needs async-timeout for redis). The
clean install in test_pip_install.py checks that it also covers what those pins bring in.
"""

from __future__ import annotations

import re

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from scenario6.setup.project import MIN_PYTHON_TEXT

from .lock import REPO, SUPPORTED, locked, pyproject

PROJECT = pyproject()["project"]


def _requirements() -> dict[str, list[Requirement]]:
    """The base dependencies (under ``""``) and each extra's."""
    groups = {"": PROJECT["dependencies"], **PROJECT["optional-dependencies"]}
    return {group: [Requirement(line) for line in lines] for group, lines in groups.items()}


@pytest.mark.parametrize("python_version", SUPPORTED)
def test_every_dependency_is_pinned_to_the_locked_version(python_version: str) -> None:
    pins = locked(python_version)
    environment = {"python_version": python_version}
    wrong = []
    for group, requirements in _requirements().items():
        for requirement in requirements:
            if canonicalize_name(requirement.name) == PROJECT["name"]:
                continue  # one extra including others
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue  # a pin for another Python
            pinned = [spec.version for spec in requirement.specifier if spec.operator == "=="]
            lock = pins.get(canonicalize_name(requirement.name))
            if pinned != [lock]:
                wrong.append(f"[{group}] {requirement} (lock: {lock})")
    assert not wrong, wrong


@pytest.mark.parametrize("python_version", SUPPORTED)
def test_each_dependency_has_one_pin_per_python(python_version: str) -> None:
    """Two pins of one package whose markers both hold (or neither) would leave it to chance."""
    environment = {"python_version": python_version}
    for group, requirements in _requirements().items():
        names = [
            canonicalize_name(requirement.name)
            for requirement in requirements
            if requirement.marker is None or requirement.marker.evaluate(environment)
        ]
        assert len(names) == len(set(names)), (group, python_version, names)


def test_the_supported_pythons_are_the_ones_pyproject_allows() -> None:
    allowed = SpecifierSet(PROJECT["requires-python"])
    assert all(allowed.contains(f"{version}.0") for version in SUPPORTED)
    floor = SUPPORTED[0]
    below = f"3.{int(floor.split('.')[1]) - 1}.0"
    assert not allowed.contains(below), PROJECT["requires-python"]
    assert floor == MIN_PYTHON_TEXT  # what setup_scenario6.py asks for


def test_ci_tests_every_supported_python() -> None:
    """.ci/run: the whole suite on the default Python (3.11), the fast tier on the others."""
    loop = re.search(r"^for version in ([0-9. ]+);", (REPO / ".ci" / "run").read_text(), re.M)
    assert loop is not None
    assert sorted(["3.11", *loop.group(1).split()]) == sorted(SUPPORTED)


def test_extras_that_include_others_name_real_ones() -> None:
    extras = set(PROJECT["optional-dependencies"])
    for requirements in _requirements().values():
        for requirement in requirements:
            if canonicalize_name(requirement.name) == PROJECT["name"]:
                assert requirement.extras <= extras, requirement
