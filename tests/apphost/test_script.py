"""An AppHost file run as a script (``python apphost.py publish ...``) is handed to the
``scenario6`` command, as ``scenario6 publish --apphost apphost.py ...`` would be."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.apphost import write_apphost


def run_script(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path), *args],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_script_run_publishes_with_its_options(tmp_path: Path) -> None:
    path = write_apphost(tmp_path, "builder.add_container('worker', 'example/worker:1')")
    out = tmp_path / "published"
    done = run_script(
        path, "publish", "--output", str(out), "--no-https", "--image", "worker=example/worker:2"
    )
    assert done.returncode == 0, done.stderr
    compose = yaml.safe_load((out / "compose.yaml").read_text())
    assert compose["services"]["worker"]["image"] == "example/worker:2"


def test_a_script_run_exits_with_the_command_status(tmp_path: Path) -> None:
    path = write_apphost(tmp_path, "builder.add_container('worker', 'example/worker:1')")
    done = run_script(path, "publish", "--no-such-option")
    assert done.returncode == 2
    assert "scenario6" in done.stderr and "--no-such-option" in done.stderr
