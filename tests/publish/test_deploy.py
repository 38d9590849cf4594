"""``scenario6 deploy`` before it starts anything: where the token comes from, clear failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scenario6.cli import main
from scenario6.publish.bundle import publish
from scenario6.publish.deploy import secret_env
from scenario6.publish.options import PublishOptions
from tests.publish.conftest import ACCESS, REPO, SECRET

# What publishing reads from the project: the app model and the Dockerfiles it builds.
PROJECT_FILES = ("apphost.py", "Dockerfile", "moshi/Dockerfile")


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No token anywhere: not in the environment, and no `.env` beside the app model (a copy
    of the project's, since a set-up checkout has its own `.env`)."""
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("ACCESS_CODES", raising=False)
    project = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, project / name)
    monkeypatch.chdir(project)


def test_token_comes_from_the_published_folders_env_file(no_token: None, tmp_path: Path) -> None:
    published = publish(PublishOptions(output=tmp_path / "out"))
    (published.folder / ".env").write_text(f"HF_TOKEN={SECRET}\nACCESS_CODES={ACCESS}\n")
    assert secret_env(published, prompt=None) == {"HF_TOKEN": SECRET, "ACCESS_CODES": ACCESS}


def test_the_environment_wins_and_loopback_needs_nothing(
    no_token: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "from-environment")
    monkeypatch.setenv("ACCESS_CODES", ACCESS)
    published = publish(PublishOptions(output=tmp_path / "out"))
    (published.folder / ".env").write_text(f"HF_TOKEN={SECRET}\n")
    assert secret_env(published, prompt=None)["HF_TOKEN"] == "from-environment"
    demo = publish(PublishOptions(output=tmp_path / "demo", backend="loopback"))
    assert secret_env(demo, prompt=None) == {"ACCESS_CODES": ACCESS}  # the gate only


def test_a_prompt_is_asked_when_nothing_else_has_the_token(no_token: None, tmp_path: Path) -> None:
    published = publish(PublishOptions(output=tmp_path / "out"))
    asked: list[str] = []

    def prompt(parameter: object) -> str:
        asked.append(getattr(parameter, "env_name", ""))
        return SECRET if asked[-1] == "HF_TOKEN" else ACCESS

    assert secret_env(published, prompt=prompt) == {"HF_TOKEN": SECRET, "ACCESS_CODES": ACCESS}
    assert asked == ["HF_TOKEN", "ACCESS_CODES"]


def test_deploy_without_a_token_stops_before_starting_anything(
    no_token: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], compose: list[str]
) -> None:
    code = main(["deploy", "--output", str(tmp_path / "out"), "--no-build"])
    assert code == 1
    err = capsys.readouterr().err
    assert "HF_TOKEN" in err
    assert "docker compose up" not in err


def test_deploy_without_invitation_codes_stops_before_starting_anything(
    no_token: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], compose: list[str]
) -> None:
    argv = ["deploy", "--backend", "loopback", "--output", str(tmp_path / "out"), "--no-build"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "ACCESS_CODES" in err
    assert "docker compose up" not in err
