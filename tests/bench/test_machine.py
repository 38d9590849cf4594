"""The machine description is read from this machine, and failures fit on one line."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from scenario6.bench.browser import CHROMIUM
from scenario6.bench.harness import failure
from scenario6.bench.machine import describe


def test_the_machine_is_read_at_run_time() -> None:
    machine = describe()
    assert machine.cpu_count == os.cpu_count()
    assert machine.cpu_model
    assert 0.1 < machine.ram_gib < 100_000
    if Path("/etc/os-release").exists():
        assert machine.os in Path("/etc/os-release").read_text()
    assert machine.kernel == platform.release()
    assert machine.python == platform.python_version()
    assert (machine.chromium is not None) == Path(CHROMIUM).exists()
    if shutil.which("docker") is None and shutil.which("podman") is None:
        assert machine.container_engine is None
    assert machine.load_end is None
    finished = machine.finished()
    assert finished.load_end is not None and all(value >= 0 for value in finished.load_end)
    assert finished.load_start == machine.load_start


def test_a_failure_is_its_type_first_and_last_line() -> None:
    error = RuntimeError("scenario6 run exited with 1:\nTraceback (most recent call last):\n"
                         "  File 'x.py'\nImportError: cannot import name 'X'\n")  # fmt: skip
    assert failure(error) == (
        "RuntimeError: scenario6 run exited with 1: … ImportError: cannot import name 'X'"
    )
    assert failure(TimeoutError("not ready within 30 s")) == "TimeoutError: not ready within 30 s"
    assert failure(OSError()) == "OSError: "
