"""The app behind the browser tests on real servers, and a fresh page for each test (the
browser with its fake microphone comes from tests/support/browser.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page

from tests.support.servers import HOST, ChildServer, free_port, frontend_process


class Loopback:
    """The loopback backend as a child process that a test can stop and start again."""

    def __init__(self, port: int, *extra: str) -> None:
        self.port = port
        self.extra = extra
        self.process: ChildServer | None = None

    @property
    def http(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        args = ["--host", HOST, "--port", str(self.port), "--prompt-ms", "300", "--delay-ms", "0"]
        # Stopped, it goes away at once, as a crashed backend would: no drain.
        args += ["--drain-timeout-s", "0"]
        self.process = ChildServer(["backend", "loopback", *args, *self.extra])
        self.process.wait_healthy(f"{self.http}/health")

    def output(self) -> str:
        return self.process.output() if self.process else "(stopped)"

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            self.process = None


@dataclass
class App:
    url: str
    loopback: Loopback
    frontend: ChildServer


@contextlib.contextmanager
def running_app(*loopback_args: str, env: dict[str, str] | None = None) -> Iterator[App]:
    """The frontend on a free port with one loopback backend (zero echo delay) behind it;
    ``env``: more of the frontend's settings."""
    loopback = Loopback(free_port(), *loopback_args)
    loopback.start()
    try:
        env = {"MOSHI_WS_URL": f"ws://{HOST}:{loopback.port}", **(env or {})}
        with frontend_process(env) as (frontend, port):
            yield App(f"http://{HOST}:{port}/", loopback, frontend)
    finally:
        loopback.stop()


@pytest.fixture
def app() -> Iterator[App]:
    with running_app() as running:
        yield running


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A page in its own browser context: no storage or permissions shared between tests."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    try:
        yield context.new_page()
    finally:
        context.close()
