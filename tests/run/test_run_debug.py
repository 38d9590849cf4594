"""``scenario6 run --debug``: the frontend serves under debugpy, ready for an IDE to attach."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from tests.run.conftest import RunCommand
from tests.support.servers import HOST, free_port


def test_debug_runs_the_frontend_under_debugpy(
    workspace: Path, run_command: type[RunCommand]
) -> None:
    frontend_port, debug_port = free_port(), free_port()
    env = {"MOSHI_PORT": str(free_port()), "FRONTEND_PORT": str(frontend_port)}
    args = ["--backend", "loopback", "--backend-runtime", "native", "--debug", str(debug_port)]
    run = run_command(workspace, args, env)
    run.wait_healthy(f"http://{HOST}:{frontend_port}/health", timeout=90)
    run.wait_output(f"debugpy listening on {HOST}:{debug_port}")
    run.wait_output("scenario6-frontend is healthy")
    # An IDE can connect: debugpy accepts on the printed port.
    with socket.create_connection((HOST, debug_port), timeout=5):
        pass
    run.popen.send_signal(signal.SIGINT)
    assert run.wait_exit(60) == 0, run.output()
    assert run.left_behind() == []
