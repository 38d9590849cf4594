"""Pytest fixtures: a headless Chromium whose fake microphone speaks, for any test folder.

Registered once for the whole suite (``pytest_plugins`` in tests/conftest.py), one browser
per test module: Playwright's synchronous API runs an event loop on this thread for as long
as it is started, and allows one at a time, so it must be stopped before an asyncio test in
a later module needs the thread, and two folders' copies must never overlap.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from scenario6.bench.browser import CHROMIUM, launch_chromium
from tests.conftest import require_tool

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


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    require_tool("chromium", CHROMIUM)
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def chromium(playwright: Playwright, speech_wav: Path) -> Iterator[Browser]:
    browser = launch_chromium(playwright, speech_wav)
    try:
        yield browser
    finally:
        browser.close()
