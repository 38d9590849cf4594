"""Children are stopped with their whole process group, and their output is kept."""

from __future__ import annotations

import asyncio
import io
import sys
import time

from scenario6.run.printer import Printer
from scenario6.run.process import ManagedProcess
from tests.run.conftest import group_alive

# A child that starts a grandchild ignoring SIGTERM, then waits.
FAMILY = (
    "import signal, subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', "
    "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'])\n"
    "print('family started', flush=True)\n"
    "time.sleep(600)\n"
)


async def test_stop_reaches_grandchildren_and_output_is_kept() -> None:
    lines: list[str] = []
    process = ManagedProcess([sys.executable, "-c", FAMILY], on_line=lines.append)
    await process.start()
    assert process.pid is not None
    deadline = time.monotonic() + 20
    while "family started" not in lines or len(group_alive(process.pid)) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    code = await process.stop(grace=1.0)
    assert code is not None and code < 0  # ended by a signal
    # SIGKILL is delivered at once but a process takes a moment to exit: wait for the group
    # to empty rather than look once.
    deadline = time.monotonic() + 10
    while group_alive(process.pid):
        assert time.monotonic() < deadline, group_alive(process.pid)
        await asyncio.sleep(0.02)
    assert list(process.last_lines) == ["family started"]


def test_printer_aligns_names_and_colours_only_when_asked() -> None:
    plain = io.StringIO()
    printer = Printer(plain, names=["scenario6-moshi", "web"])
    printer.line("web", "ready\n")
    printer.table(["NAME", "STATE"], [["web", "running"]])
    assert plain.getvalue().splitlines() == [
        "web             | ready",
        "NAME  STATE",
        "web   running",
    ]
    coloured = io.StringIO()
    Printer(coloured, names=["web"], colour=True).line("web", "x")
    assert coloured.getvalue().startswith("\x1b[")
