"""A real headless Chromium with a fake microphone, and the app behind it on real servers."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from scenario6.bench.browser import CHROMIUM, launch_chromium
from tests.conftest import require_tool
from tests.support.servers import HOST, ChildServer, free_port, frontend_process

SPEECH = (
    "Hello, this is a test of the voice client. The quick brown fox jumps over the lazy dog. "
    "One, two, three, four."
)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Spoken English at 48 kHz mono: what Chromium's fake microphone plays, in a loop."""
    espeak = require_tool("espeak-ng")
    sox = require_tool("sox")
    folder = tmp_path_factory.mktemp("speech")
    raw, wav = folder / "raw.wav", folder / "speech48k.wav"
    subprocess.run([espeak, "-w", str(raw), SPEECH], check=True, capture_output=True)
    subprocess.run([sox, str(raw), "-r", "48000", "-c", "1", str(wav)], check=True)
    return wav


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    require_tool("chromium", CHROMIUM)
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def chromium(playwright: Playwright, speech_wav: Path) -> Iterator[Browser]:
    browser = launch_chromium(playwright, speech_wav)
    try:
        yield browser
    finally:
        browser.close()


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
