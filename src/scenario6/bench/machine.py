"""The machine a benchmark run measured: hardware, software and how busy it was."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from scenario6.containers import ContainerRuntime, RuntimeUnavailable

from .browser import CHROMIUM


@dataclass(frozen=True)
class Machine:
    """What the figures depend on, read at run time.

    >>> machine = describe()  # doctest: +SKIP
    >>> machine.cpu_count, machine.load_start  # doctest: +SKIP
    (2, (0.31, 0.52, 0.6))
    """

    cpu_model: str
    cpu_count: int
    ram_gib: float
    os: str
    kernel: str
    python: str
    container_engine: str | None  # the engine's name and version: "Podman 5.2.1"
    chromium: str | None
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float] | None = None

    def finished(self) -> Machine:
        """The same machine with the load average at the end of the run."""
        return replace(self, load_end=_load())


def describe() -> Machine:
    return Machine(
        cpu_model=_cpu_model(),
        cpu_count=os.cpu_count() or 0,
        ram_gib=round(_mem_total_bytes() / (1 << 30), 1),
        os=_os_name(),
        kernel=platform.release(),
        python=platform.python_version(),
        container_engine=_container_engine(),
        chromium=_output([CHROMIUM, "--version"]) if Path(CHROMIUM).exists() else None,
        load_start=_load(),
    )


def _load() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _mem_total_bytes() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _os_name() -> str:
    try:
        release = platform.freedesktop_os_release()  # /etc/os-release, else /usr/lib/os-release
    except OSError:
        return f"{platform.system()} (no /etc/os-release)"
    return release.get("PRETTY_NAME") or release["NAME"]


def _container_engine() -> str | None:
    """The engine the container benchmarks use, as ``scenario6 run`` picks it, with the
    version of what runs the containers (a client without an engine counts as none)."""
    try:
        runtime = ContainerRuntime.detect()
        version = runtime.engine_version(timeout=30)
    except RuntimeUnavailable:
        return None
    return f"{'Podman' if runtime.is_podman else 'Docker'} {version}"


def _output(argv: list[str]) -> str | None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
