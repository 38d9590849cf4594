"""Servers for benchmarks: ``scenario6`` child processes on free loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from websockets.asyncio.client import ClientConnection

from scenario6.protocol.messages import HANDSHAKE
from scenario6.run.resolve import free_port

HOST = "127.0.0.1"
__all__ = [
    "HOST",
    "ChildServer",
    "free_port",
    "loopback_backend",
    "percentile",
    "wait_for_handshake",
]


async def wait_for_handshake(ws: ClientConnection, timeout: float = 30) -> None:
    """Read until the backend's 0x00 handshake (anything before it is not the session yet)."""

    async def handshake() -> None:
        while (await ws.recv())[:1] != HANDSHAKE:
            pass

    await asyncio.wait_for(handshake(), timeout)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def failure(exc: BaseException) -> str:
    """A failure in one line for a report: the type, the message's first and last lines."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = " … ".join(dict.fromkeys([lines[0], lines[-1]])) if lines else ""
    return f"{type(exc).__name__}: {text[:400]}"


class ChildServer:
    """``python -m scenario6 ARGS`` in its own process group; output goes to a log file.

    >>> with ChildServer(["backend", "loopback", "--port", "8998"]) as child:  # doctest: +SKIP
    ...     child.wait_healthy("http://127.0.0.1:8998/health")
    """

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        command: Sequence[str] = (sys.executable, "-m", "scenario6"),
    ) -> None:
        """``command`` is what ``args`` follow: another program's servers run the same way."""
        self.args = list(args)
        handle, name = tempfile.mkstemp(prefix="scenario6-", suffix=".log")
        os.close(handle)
        self.log = Path(name)
        self._log_file = self.log.open("wb")
        self.popen = subprocess.Popen(
            [*command, *self.args],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> ChildServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"scenario6 {' '.join(self.args)} exited with {self.popen.returncode}:\n"
                    + self.output()[-2000:]
                )
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as reply:
                if reply.status == 200:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{url} not healthy after {timeout:g}s:\n{self.output()[-2000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the child so far (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """Resident memory of the child now (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for process {self.pid}")

    def open_fds(self) -> int:
        """File descriptors the child holds open now (Linux)."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stop(self, sig: int = signal.SIGTERM, grace: float = 10) -> None:
        """Signal the whole group, then SIGKILL it after ``grace`` seconds."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log_file.close()


def loopback_backend(args: Sequence[str]) -> ChildServer:
    """``scenario6 backend loopback ARGS`` in a child of this interpreter.

    Its modules are imported here first: without the extra that brings them this raises
    ``ImportError`` naming the module, where the child would only exit with code 2.
    """
    importlib.import_module("scenario6.backend.loopback")
    return ChildServer(["backend", "loopback", *args])
