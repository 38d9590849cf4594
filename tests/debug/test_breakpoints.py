"""The frontend under ``python -m scenario6.debug``: a breakpoint in the session proxy is hit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import scenario6.frontend.proxy.session as session_module
from scenario6.bench.harness import HOST, free_port
from tests.support.client import conversation
from tests.support.servers import loopback_server

from .dap import DapClient

SESSION_PY = Path(session_module.__file__).resolve()


def session_start_line() -> int:
    """The first statement of ``ProxySession.run``: where every session begins."""
    lines = SESSION_PY.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "async def run(self)" in line)
    return start + 2  # 1-based line of the statement after the ``def``


@contextlib.contextmanager
def debugged_frontend(
    debug_port: int, port: int, backend_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m scenario6.debug ... -m scenario6 frontend``, as ``scenario6 run --debug``."""
    with log.open("wb") as output:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scenario6.debug",
                "--listen",
                f"{HOST}:{debug_port}",
                "--wait-for-client",
                "-m",
                "scenario6",
                "frontend",
                "--host",
                HOST,
                "--port",
                str(port),
            ],
            env={**os.environ, "MOSHI_WS_URL": backend_url, "PYTHONUNBUFFERED": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield child
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)


def wait_healthy(url: str, child: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert child.poll() is None, log.read_text(errors="replace")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as reply:
            if reply.status == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy:\n{log.read_text(errors='replace')}")


async def test_breakpoint_at_session_start_is_hit(tmp_path: Path) -> None:
    debug_port, port = free_port(), free_port()
    log = tmp_path / "frontend.log"
    async with loopback_server() as backend:
        with debugged_frontend(debug_port, port, backend.url, log) as child:
            dap = await DapClient.connect(HOST, debug_port)
            await dap.request(
                "initialize",
                adapterID="debugpy",
                clientID="scenario6-test",
                linesStartAt1=True,
                columnsStartAt1=True,
                pathFormat="path",
            )
            attached = dap.send("attach", justMyCode=False)
            await dap.wait_event("initialized")
            line = session_start_line()
            reply = await dap.request(
                "setBreakpoints", source={"path": str(SESSION_PY)}, breakpoints=[{"line": line}]
            )
            assert reply["body"]["breakpoints"][0]["verified"], reply
            await dap.request("configurationDone")
            assert (await asyncio.wait_for(attached, 30))["success"]
            health = f"http://{HOST}:{port}/health"
            await asyncio.to_thread(wait_healthy, health, child, log, 60)
            url = f"ws://{HOST}:{port}/api/chat?voice_prompt=NATF2.pt&text_prompt=Hi"
            async with conversation(url) as talk:
                stopped = await dap.wait_event("stopped")
                assert stopped["body"]["reason"] == "breakpoint"
                thread = stopped["body"]["threadId"]
                frames = await dap.request("stackTrace", threadId=thread, levels=1)
                top = frames["body"]["stackFrames"][0]
                assert "run" in top["name"], top
                assert top["line"] == line
                assert top["source"]["path"] == str(SESSION_PY)
                assert not talk.handshake.is_set(), "the session must wait at the breakpoint"
                await dap.request("continue", threadId=thread)
                await talk.wait_for(talk.handshake.is_set, timeout=20)
            await dap.close()
            assert "debugpy listening on" in log.read_text()
