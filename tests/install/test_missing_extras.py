"""A command whose extra is not installed names the extra and how to install it, in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _without(module: str, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``scenario6 ARGV`` as if ``module`` were not installed."""
    code = (
        f"import sys; sys.modules[{module!r}] = None; "
        f"from scenario6.cli import main; raise SystemExit(main({argv!r}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_publish_names_the_tls_extra(tmp_path: Path) -> None:
    argv = ["publish", "--backend", "loopback", "--output", str(tmp_path / "out")]
    done = _without("cryptography", argv, REPO)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "making a certificate needs the 'tls' extra (cryptography is missing)" in done.stderr
    assert "pip install -c requirements.lock '.[tls]'" in done.stderr
    assert "--no-https" in done.stderr and "Traceback" not in done.stderr


def test_publish_without_https_needs_no_extra(tmp_path: Path) -> None:
    argv = ["publish", "--backend", "loopback", "--no-https", "--output", str(tmp_path / "out")]
    done = _without("cryptography", argv, REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / "compose.yaml").is_file()


def test_run_with_the_aspire_dashboard_names_the_dashboard_extra() -> None:
    argv = ["run", "--dashboard", "aspire", "--backend", "loopback", "--backend-runtime",
            "native", "--skip-checks"]  # fmt: skip
    done = _without("grpc", argv, REPO)
    assert done.returncode == 2, done.stdout + done.stderr
    expected = "scenario6 run --dashboard aspire needs the 'dashboard' extra (grpc is missing)"
    said = done.stdout + done.stderr  # the run's printer writes to stdout
    assert expected in said and "Traceback" not in said


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("numpy", ["bench"]),  # the report
        ("numpy", ["bench", "browser"]),
        ("aiohttp", ["bench", "proxy", "--seconds", "1"]),  # the loopback backend it starts
        ("aiohttp", ["bench", "soak", "--seconds", "30"]),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_bench_names_the_bench_extra(module: str, argv: list[str], tmp_path: Path) -> None:
    done = _without(module, argv, tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    expected = f"scenario6 bench needs the 'bench' extra ({module} is missing)"
    assert expected in done.stderr
    assert "pip install -c requirements.lock '.[bench]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_mcp_names_the_mcp_extra(tmp_path: Path) -> None:
    done = _without("mcp", ["mcp"], tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "scenario6 mcp needs the 'mcp' extra (mcp" in done.stderr
    assert "pip install -c requirements.lock '.[mcp]'" in done.stderr
    assert "Traceback" not in done.stderr
