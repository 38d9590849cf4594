"""Both images on a Python 3.10 base, the oldest supported Python.

3.10 has no tomllib: there the Dockerfiles read pyproject.toml with the locked tomli, a path
the bookworm base (Python 3.11) never takes. The 3.10 base is the bookworm test base plus
this machine's pyenv build of 3.10, since no python:3.10 image can be pulled here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenario6.bench.images import build_on
from scenario6.facts.kinds import LOOPBACK
from scenario6.facts.names import FRONTEND
from scenario6.run.resolve import free_port
from tests.images.test_backend_image import _health
from tests.support.docker import (
    DOCKER,
    LABEL,
    BuiltImage,
    _missing,
    build_image,
    docker_cli,
    run_container,
)

pytestmark = pytest.mark.docker

PY310_BASE = "scenario6-test-base:py310"
FRONTEND_PY310 = "scenario6-frontend:py310-test"
LOOPBACK_PY310 = "scenario6-loopback:py310-test"
VERSION_PROBE = "import sys; print(sys.version_info[:2])"


def pyenv_python310() -> Path:
    """The newest pyenv 3.10.N folder here (what ``pyenv latest 3.10`` names)."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [
        folder
        for folder in versions.glob("3.10.*")
        if re.fullmatch(r"3\.10\.\d+", folder.name) and (folder / "bin" / "python3.10").exists()
    ]
    if not found:
        _missing(f"no Python 3.10 in {versions}: `pyenv install 3.10` makes one")
    return max(found, key=lambda folder: int(folder.name.rsplit(".", 1)[1]))


def base_dockerfile(prefix: Path) -> str:
    # A pyenv build finds its standard library and libpython by the prefix it was built
    # with, so the copy keeps that path. The images run as a non-root user, who must be able
    # to pass through its parents (/root is 700 in the base).
    parents = " ".join(str(folder) for folder in reversed(prefix.parents) if folder != Path("/"))
    return (
        "ARG BASE_IMAGE\n"
        "FROM ${BASE_IMAGE}\n"
        f"COPY . {prefix}\n"
        f"RUN chmod o+rx {parents} \\\n"
        f" && ln -s {prefix}/bin/python3.10 /usr/local/bin/python3\n"
    )


def _remove_image(tag: str) -> None:
    docker_cli("image", "rm", tag, check=False, timeout=120)


@pytest.fixture(scope="module")
def py310_base(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bookworm test base whose ``python3`` is this machine's pyenv Python 3.10."""
    prefix = pyenv_python310()
    dockerfile = tmp_path_factory.mktemp("py310-base") / "Dockerfile"
    dockerfile.write_text(base_dockerfile(prefix))
    # The pyenv folder itself is the build context: nothing to copy into a temporary one.
    build_on(DOCKER, base_image, PY310_BASE, dockerfile=str(dockerfile), context=prefix)
    yield PY310_BASE
    _remove_image(PY310_BASE)


@pytest.fixture(scope="module")
def frontend_py310(py310_base: str) -> Iterator[BuiltImage]:
    image = build_image(FRONTEND_PY310, py310_base)
    yield image
    _remove_image(image.tag)


@pytest.fixture(scope="module")
def loopback_py310(py310_base: str) -> Iterator[BuiltImage]:
    image = build_image(
        LOOPBACK_PY310, py310_base, dockerfile="moshi/Dockerfile", target="loopback"
    )
    yield image
    _remove_image(image.tag)


def test_the_base_runs_python_310_and_makes_venvs(py310_base: str) -> None:
    """What both Dockerfiles ask of a base: ``python3 -m venv``, then pip in that venv."""
    script = "python3 --version && python3 -m venv /tmp/venv && /tmp/venv/bin/pip --version"
    out = docker_cli(
        "run", "--rm", "--label", f"{LABEL}=1", py310_base, "sh", "-c", script, timeout=120
    )
    assert out.startswith("Python 3.10."), out
    assert "(python 3.10)" in out, out


@pytest.mark.parametrize(
    ("image", "prefix", "field", "expected"),
    [
        ("frontend_py310", "APP", "service", FRONTEND),
        ("loopback_py310", "MOSHI", "backend", LOOPBACK),
    ],
)
def test_each_image_serves_on_python_310(
    request: pytest.FixtureRequest, image: str, prefix: str, field: str, expected: str
) -> None:
    built: BuiltImage = request.getfixturevalue(image)
    port = free_port()
    env = {f"{prefix}_HOST": "127.0.0.1", f"{prefix}_PORT": str(port)}
    with run_container(built.tag, env=env) as container:
        container.wait_healthy(f"http://127.0.0.1:{port}/health")
        assert _health(f"http://127.0.0.1:{port}/health")[field] == expected
        assert container.exec("python", "-c", VERSION_PROBE).strip() == "(3, 10)"
