"""setup_scenario6.py on a real, small checkout: venv, pinned install, .env, token, idempotence."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from scenario6.setup import envfile, project

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "setup_scenario6.py"
TOKEN = "hf_" + "Zyx9876543210abcdef" * 2

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tinycheckout"
version = "0.0.1"

[project.optional-dependencies]
dev = []
loopback = []
"""


def _setup(
    root: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the script from an unrelated directory, with the standard library only."""
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), "--project-dir", str(root), "--no-doctor", *args],
        cwd="/",
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A checkout set up once for real (venv + pip install); its first run's output."""
    root = tmp_path_factory.mktemp("checkout")
    (root / "pyproject.toml").write_text(_PYPROJECT)
    (root / "requirements.lock").write_text("")
    (root / ".env.example").write_text("# example\nHF_TOKEN=\nUSE_GPU=1\n")
    (root / "tinycheckout.py").write_text("")
    first = _setup(root)
    assert first.returncode == 0, first.stdout + first.stderr
    return root, first.stdout


def test_first_run_creates_everything(installed: tuple[Path, str]) -> None:
    root, output = installed
    assert "creating .venv" in output
    assert "installing scenario6[dev,loopback] with pip" in output
    assert project.venv_python(root).exists()
    assert project.in_sync(root)
    assert (root / ".env").read_text() == "# example\nHF_TOKEN=\nUSE_GPU=1\n"
    assert stat.S_IMODE((root / ".env").stat().st_mode) == 0o600
    freeze = subprocess.run(
        [str(project.venv_python(root)), "-m", "pip", "list", "--editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "tinycheckout" in freeze


def test_stamp_is_the_digest_of_the_pins(installed: tuple[Path, str]) -> None:
    root, _ = installed
    shell = subprocess.run(
        "cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1",
        shell=True,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert project.read_stamp(root) == shell


def test_venv_only_leaves_env_alone(installed: tuple[Path, str]) -> None:
    root, _ = installed
    env = root / ".env"
    kept = env.read_bytes()
    env.unlink()
    try:
        again = _setup(root, "--venv-only")
        assert again.returncode == 0, again.stderr
        assert not env.exists()
        assert "Nothing to do" in again.stdout
    finally:
        env.write_bytes(kept)
        env.chmod(0o600)


def test_second_run_changes_nothing(installed: tuple[Path, str]) -> None:
    root, _ = installed
    before = {p: p.stat().st_mtime_ns for p in (root / ".env", project.stamp_path(root))}
    again = _setup(root)
    assert again.returncode == 0, again.stderr
    assert "Nothing to do" in again.stdout and "nothing changed" in again.stdout
    assert "installing" not in again.stdout
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_token_is_stored_but_never_printed(installed: tuple[Path, str]) -> None:
    root, _ = installed
    done = _setup(root, "--hf-token", TOKEN)
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert "stored HF_TOKEN" in done.stdout
    assert envfile.read_token(root / ".env") == TOKEN
    assert (root / ".env").read_text().count("HF_TOKEN=") == 1
    again = _setup(root, "--hf-token", TOKEN)
    assert "already holds this HF_TOKEN" in again.stdout and "Nothing to do" in again.stdout


def test_token_typed_at_a_hidden_prompt(installed: tuple[Path, str]) -> None:
    root, _ = installed
    other = TOKEN.replace("Zyx", "Qwe")
    done = _setup(root, "--ask-token", stdin=other + "\n")
    assert done.returncode == 0, done.stderr
    assert other not in done.stdout + done.stderr
    assert envfile.read_token(root / ".env") == other


def test_malformed_token_is_refused(installed: tuple[Path, str]) -> None:
    root, _ = installed
    before = (root / ".env").read_text()
    done = _setup(root, "--hf-token", "oops-S3CRET")
    assert done.returncode == 2
    assert "does not look like a Hugging Face token" in done.stderr
    assert "S3CRET" not in done.stdout + done.stderr
    assert (root / ".env").read_text() == before


def test_changed_lock_reinstalls(installed: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = installed
    (root / "requirements.lock").write_text("# no pins\n")
    without_uv = {**os.environ, "PATH": str(tmp_path)}
    done = _setup(root, "--uv", env=without_uv)
    assert done.returncode == 0, done.stderr
    assert "uv is not on PATH; using pip" in done.stdout
    assert "installing scenario6[dev,loopback] with pip" in done.stdout
    assert project.in_sync(root)


def test_old_python_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "pyproject.toml").write_text(_PYPROJECT)
    (root / "requirements.lock").write_text("")
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\necho 3 9 18\n")  # answers the version query as 3.9.18 would
    old.chmod(0o755)
    done = _setup(root, "--python", str(old))
    assert done.returncode == 2
    assert "Python 3.9.18 is too old" in done.stderr and "3.10" in done.stderr
    assert not (root / ".venv").exists()


def test_the_scripts_own_version_check_uses_the_same_minimum() -> None:
    # It runs before the project can be imported, so it has its own copy of the number.
    script = (REPO / "setup_scenario6.py").read_text()
    assert f"sys.version_info < {project.MIN_PYTHON}:" in script
    assert f"needs Python {project.MIN_PYTHON_TEXT} or newer" in script


def test_finds_its_checkout_from_any_directory(tmp_path: Path) -> None:
    code = "from scenario6.setup.project import find_root; print(find_root())"
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(REPO / 'src')!r}); {code}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    assert Path(done.stdout.strip()) == REPO


def test_help_runs_without_third_party_modules() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--ask-token" in done.stdout


def test_a_venv_for_another_python_is_its_own_and_touches_nothing_else(
    installed: tuple[Path, str],
) -> None:
    root, _ = installed
    app_stamp = project.stamp_path(root).read_text()
    refused = _setup(root, "--venv", ".venv-other")
    assert refused.returncode == 2 and "--venv .venv-other needs --venv-only" in refused.stderr
    first = _setup(root, "--venv-only", "--venv", ".venv-other")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "creating .venv-other" in first.stdout
    assert project.venv_python(root, ".venv-other").exists()
    assert project.in_sync(root, ".venv-other")
    assert project.stamp_path(root).read_text() == app_stamp, ".venv is left as it was"
    again = _setup(root, "--venv-only", "--venv", ".venv-other")
    assert "Nothing to do" in again.stdout, "a venv in step with the lock is not reinstalled"
