"""The fast reloader: edits are served by a fresh child; broken edits keep the old one serving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from scenario6.apphost import Configuration, DistributedApplicationBuilder, ParameterResolver
from scenario6.run import reloader
from scenario6.run.commands import native_command
from scenario6.run.resolve import RunResolver
from tests.run.conftest import group_alive
from tests.support.servers import HOST, free_port

APP = """
from fastapi import FastAPI, WebSocket

app = FastAPI()

@app.get("/")
def version() -> dict[str, str]:
    return {"version": "VERSION"}

@app.websocket("/ws")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        await websocket.send_text(await websocket.receive_text())
"""


def write_app(root: Path, version: str, prelude: str = "") -> None:
    (root / "demoapp").mkdir(exist_ok=True)
    (root / "demoapp" / "__init__.py").write_text("")
    (root / "demoapp" / "main.py").write_text(prelude + APP.replace("VERSION", version))


def served_version(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=2) as response:
            return str(json.load(response)["version"])
    except OSError:
        return None


def wait_until(condition: Callable[[], bool], what: str, output: Callable[[], str]) -> None:
    deadline = time.monotonic() + 30  # only catches hangs; speed is the benchmark's business
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; output:\n{output()}")
        time.sleep(0.02)


def reloader_command(root: Path, port: int) -> list[str]:
    return [
        sys.executable,
        reloader.__file__,
        "demoapp.main:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--app-dir",
        str(root),
        "--reload-dir",
        str(root / "demoapp"),
    ]


@contextlib.contextmanager
def running_reloader(
    root: Path, command: Callable[[Path, int], list[str]] = reloader_command
) -> Iterator[tuple[int, subprocess.Popen[bytes], Callable[[], str]]]:
    port = free_port()
    log = root / "reloader.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command(root, port),
            cwd=root,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output() -> str:
        return log.read_text(errors="replace")

    try:
        wait_until(lambda: served_version(port) is not None, "the first start", output)
        yield port, process, output
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_edit_is_served_and_a_syntax_error_keeps_the_old_app(tmp_path: Path) -> None:
    write_app(tmp_path, "one")
    with running_reloader(tmp_path) as (port, process, output):
        assert served_version(port) == "one"

        write_app(tmp_path, "two")
        wait_until(lambda: served_version(port) == "two", "the edit to be served", output)

        (tmp_path / "demoapp" / "main.py").write_text("def broken(:\n")
        wait_until(lambda: "still serving the previous version" in output(), "refusal", output)
        assert "SyntaxError" in output()
        assert served_version(port) == "two"

        write_app(tmp_path, "three")
        wait_until(lambda: served_version(port) == "three", "the fixed edit", output)

        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(15) == 0
        assert group_alive(process.pid) == []  # no child outlives the supervisor


async def read_until_closed(websocket: ClientConnection) -> None:
    """Read until the connection closes, which raises ConnectionClosed."""
    while True:
        await websocket.recv()


async def test_open_websocket_is_closed_with_1012_on_reload(tmp_path: Path) -> None:
    write_app(tmp_path, "one")
    with running_reloader(tmp_path) as (port, _, output):
        async with connect(f"ws://{HOST}:{port}/ws") as websocket:
            await websocket.send("ping")
            assert await websocket.recv() == "ping"
            write_app(tmp_path, "two")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(read_until_closed(websocket), 30)
        assert closed.value.rcvd is not None, output()
        assert closed.value.rcvd.code == 1012
        assert served_version(port) == "two"


# Records each process that imports it: a module the app imports, too slow to import on
# every reload.
HEAVY = """
import os
from pathlib import Path

with Path(__file__).with_name("imports.log").open("a") as log:
    log.write(f"{os.getpid()}\\n")
"""


def run_mode_command(root: Path, port: int) -> list[str]:
    """The command ``scenario6 run`` starts for a uvicorn app that preloads ``heavy``."""
    builder = DistributedApplicationBuilder(
        app_dir=root, configuration=Configuration(environ={}), name="demo"
    )
    web = (
        builder.add_uvicorn_app("web", ".", "demoapp.main:app")
        .with_http_endpoint(port=port)
        .with_reload("demoapp")
        .with_preload("heavy")
    )
    app = builder.build()
    resolver = RunResolver(app, ParameterResolver(Configuration(environ={}), prompt=None), None)
    return native_command(web, resolver, Path(sys.executable), reload=True)


def test_a_preloaded_module_is_imported_once_not_on_every_reload(tmp_path: Path) -> None:
    (tmp_path / "heavy.py").write_text(HEAVY)
    write_app(tmp_path, "one", prelude="import heavy\n")
    imports = tmp_path / "imports.log"
    with running_reloader(tmp_path, run_mode_command) as (port, process, output):
        write_app(tmp_path, "two", prelude="import heavy\n")
        wait_until(lambda: served_version(port) == "two", "the edit to be served", output)
        # The supervisor imported it before forking; both app children inherited it.
        assert imports.read_text().split() == [str(process.pid)], output()
