"""The pip install README.md describes, into a clean venv: the commands it promises then work.

The checkout's files are copied (no .venv, no .env, no build leftovers) and installed the way
the README says, pinned by requirements.lock. pip's own configuration and cache are this
machine's (PIP_* variables, pip.conf), so on a set-up machine the wheels come from its cache.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from scenario6.bench.reload import copy_checkout

from .lock import REPO, locked, pyproject

DOCUMENTED = re.compile(r"bin/pip install -c requirements\.lock '\.\[([a-z,]+)\]'")


@dataclass(frozen=True)
class Install:
    checkout: Path
    bin: Path
    env: dict[str, str]

    def scenario6(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The installed console script, run in the copied checkout."""
        return subprocess.run(
            [str(self.bin / "scenario6"), *args],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def documented_extras() -> list[str]:
    """The extras of the README's pip install line."""
    found = DOCUMENTED.findall((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(found) == 1, f"README.md should show one pip install line, found {found}"
    return found[0].split(",")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Install:
    root = tmp_path_factory.mktemp("pip-install")
    checkout = copy_checkout(root / "checkout")
    venv = root / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
    # Nothing of this interpreter's venv may leak into the one under test.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    spec = f".[{','.join(documented_extras())}]"
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "-c", "requirements.lock", spec],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Install(checkout, venv / "bin", env)


def test_the_documented_extras_exist() -> None:
    assert set(documented_extras()) <= set(pyproject()["project"]["optional-dependencies"])


def test_every_installed_package_is_the_locked_version(installed: Install) -> None:
    freeze = subprocess.run(
        [str(installed.bin / "python"), "-m", "pip", "freeze"],
        env=installed.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    pins = locked()
    got = {
        canonicalize_name(name): version
        for name, equals, version in (line.partition("==") for line in freeze.splitlines())
        if equals
    }
    assert {name: version for name, version in got.items() if pins.get(name) != version} == {}


def test_publish_makes_the_stack_and_its_certificate(installed: Install) -> None:
    output = installed.checkout.parent / "published"
    done = installed.scenario6("publish", "--backend", "loopback", "--output", str(output))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (output / "compose.yaml").is_file()
    assert (output / "kubernetes" / "kustomization.yaml").is_file()
    # HTTPS is the default: the certificate comes from the tls extra's cryptography.
    assert (output / "certs" / "cert.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_doctor_reports_without_crashing(installed: Install) -> None:
    done = installed.scenario6("doctor", "--json")
    # Problems are fine here (no .venv in the copy, maybe no engine): a crash is not.
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    checks = {check["name"]: check["status"] for check in json.loads(done.stdout)["checks"]}
    assert {"python", "venv", "container engine", "ports"} <= set(checks)
    assert checks["venv"] == "fail"  # the copy has no .venv: `scenario6 run` would say so


def test_bench_shows_its_help_and_runs_a_benchmark(installed: Install) -> None:
    shown = installed.scenario6("bench", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "proxy" in shown.stdout
    # numpy, the loopback backend and websockets all come from the install under test.
    done = installed.scenario6(
        "bench", "proxy", "--json", "--seconds", "2", "--proxy-sessions", "1", timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    levels = json.loads(done.stdout.splitlines()[-1])["levels"]
    assert {level["path"] for level in levels} == {"direct", "proxy"}
    assert all(level["samples"] > 0 and not level["failed_sessions"] for level in levels), levels
