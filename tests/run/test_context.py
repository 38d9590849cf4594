"""The build-input digest changes exactly when a file the Dockerfile copies changes."""

from __future__ import annotations

from pathlib import Path

from scenario6.apphost import DockerBuild
from scenario6.run.context import build_digest, copied_sources

DOCKERFILE = """\
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE} AS build
COPY pyproject.toml \\
     README.md ./
COPY --chown=app src ./src
COPY --from=build /opt/venv /opt/venv
ADD ["extra.txt", "/x/"]
"""


def test_copied_sources_follow_copy_and_add() -> None:
    assert copied_sources(DOCKERFILE) == ["pyproject.toml", "README.md", "src", "extra.txt"]


def test_digest_tracks_copied_files_only(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / ".dockerignore").write_text("**/__pycache__\n")
    for name in ("pyproject.toml", "README.md", "extra.txt", "src/pkg/app.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    build = DockerBuild(tmp_path, tmp_path / "Dockerfile", "build")
    first = build_digest(build)

    (tmp_path / "run.log").write_text("not copied")
    (tmp_path / "src" / "pkg" / "__pycache__").mkdir()
    (tmp_path / "src" / "pkg" / "__pycache__" / "app.pyc").write_text("ignored")
    assert build_digest(build) == first

    (tmp_path / "src" / "pkg" / "app.py").write_text("changed")
    assert build_digest(build) != first
    assert build_digest(DockerBuild(tmp_path, tmp_path / "Dockerfile", "other")) != build_digest(
        build
    )


def test_a_frontend_edit_leaves_the_backend_image_alone(tmp_path: Path) -> None:
    """The persistent backend container must survive frontend work: it may hold the model."""
    root = Path(__file__).resolve().parents[2]
    copy = tmp_path / "repo"
    for name in ("moshi/Dockerfile", ".dockerignore", "pyproject.toml", "README.md"):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((root / name).read_bytes())
    for package in ("frontend", "backend", "protocol"):
        for source in (root / "src" / "scenario6" / package).rglob("*.py"):
            target = copy / source.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    (copy / "src/scenario6/__init__.py").write_bytes(
        (root / "src/scenario6/__init__.py").read_bytes()
    )
    backend = DockerBuild(copy, copy / "moshi/Dockerfile", "loopback")
    first = build_digest(backend)

    (copy / "src/scenario6/frontend/app.py").write_text("# edited\n")
    assert build_digest(backend) == first

    (copy / "src/scenario6/backend/loopback.py").write_text("# edited\n")
    assert build_digest(backend) != first
