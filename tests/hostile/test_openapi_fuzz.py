"""Schemathesis fuzzes every operation in the frontend's OpenAPI schema on a real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.servers import free_port, frontend_process

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_every_http_operation_survives_schema_driven_fuzzing(tmp_path: Path) -> None:
    with frontend_process({"MOSHI_WS_URL": f"ws://127.0.0.1:{free_port()}"}) as (_, port):
        result = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"http://127.0.0.1:{port}/api/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "60",
                "--workers",
                "1",
                "--seed",
                "6",
                "--generation-database",
                "none",
                "--no-color",
                "--request-timeout",
                "10",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=tmp_path,  # schemathesis may write its cache there
        )
    report = result.stdout + result.stderr
    print(report[-3000:])
    assert result.returncode == 0, report[-6000:]
    assert "No issues found" in report or "passed" in report, report[-3000:]
