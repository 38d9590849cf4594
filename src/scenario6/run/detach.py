"""``scenario6 run --detach``: the run in the background, its output in a file, and the
command back once every resource is up (or with why it is not)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

from .control import state
from .control.client import ControlClient, ControlError
from .printer import Printer

WAIT_S = 900.0  # a cold machine builds the backend's image first


def start(app_dir: Path, argv: list[str], out: TextIO = sys.stdout, wait: float = WAIT_S) -> int:
    """Start ``scenario6 run ARGV`` in its own session; 0 once it is up, else 1."""
    folder = state.run_dir(app_dir)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    log_path = folder / state.RUN_LOG
    with log_path.open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "scenario6", "run", *argv],
            cwd=app_dir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    printer = Printer(out)
    printer.info(f"starting in the background (pid {child.pid}); its output: {log_path}")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        code = child.poll()
        if code is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-20:]
            printer.error(f"the run stopped during start-up (exit code {code}); its last output:\n"
                          + "\n".join(f"    {line}" for line in tail))  # fmt: skip
            return 1
        found = state.read(app_dir)
        if found is not None and found.pid == child.pid and _up(found):
            _report(ControlClient(found), printer, app_dir)
            return 0
        time.sleep(0.2)
    printer.error(
        f"not up after {wait:.0f} s; it goes on starting in the background: follow it with "
        "scenario6 ps / scenario6 logs NAME -f, or end it with scenario6 stop"
    )
    return 1


def _up(found: state.RunState) -> bool:
    try:
        return bool(ControlClient(found, timeout=5).get("/api/v1/app")["phase"] == "running")
    except ControlError:
        return False


def _report(client: ControlClient, printer: Printer, app_dir: Path) -> None:
    listing = client.get("/api/v1/resources")["resources"]
    rows = [
        [v["name"], v["kind"], v["state"], v["health"], " ".join(e["url"] for e in v["endpoints"])]
        for v in listing
    ]
    printer.table(["NAME", "KIND", "STATE", "HEALTH", "URL"], rows)
    printer.info(f"control API and dashboard: {client.run.login_url}")
    printer.info(f"console logs: {state.run_dir(app_dir) / state.LOG_DIR}/NAME.log")
    printer.info("see it with scenario6 ps / describe / logs NAME -f; stop it with scenario6 stop")
