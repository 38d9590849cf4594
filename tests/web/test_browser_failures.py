"""The web client when things go wrong: a backend or the app server goes away and comes back,
the microphone is refused, the server rejects the request or turns it away, the page is not
secure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from scenario6.bench.browser import CHROMIUM, chromium_args
from tests.support.servers import HOST, ChildServer
from tests.web.conftest import App, running_app
from tests.web.pages import LIVE_TIMEOUT, client, get_json, start, wait_live

pytestmark = pytest.mark.browser


def test_page_reconnects_when_the_backend_comes_back(page: Page, app: App) -> None:
    start(page, app.url)
    wait_live(page, app)
    app.loopback.stop()
    expect(page.locator("#status")).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    expect(page.locator("#status-text")).to_contain_text("Reconnecting")
    # The generic text, then the server's own reason ("backend closed the session (...)",
    # then "backend unreachable (...)" while it stays down).
    expect(page.locator("#status-text")).to_contain_text(re.compile(r"model server .*: backend"))
    played = client(page)["playedSamples"]
    app.loopback.start()
    wait_live(page, app)
    page.wait_for_function(f"scenario6.playedSamples > {played} + scenario6.sampleRate")
    page.click("#log-panel summary")
    log = page.locator("#log").inner_text()
    print(log)
    assert "connection closed: 4503" in log


def test_stopping_while_starting_leaves_no_session_behind(page: Page, app: App) -> None:
    start(page, app.url)
    page.click("#toggle")  # before the microphone has even started
    expect(page.locator("#status-text")).to_have_text("Ready")
    page.wait_for_timeout(1500)
    sessions = get_json(f"{app.loopback.http}/api/sessions")
    assert not any(s["active"] for s in sessions), page.locator("#log").text_content()
    page.click("#toggle")
    wait_live(page, app)


def test_denied_microphone_is_explained(playwright: Playwright, app: App, speech_wav: Path) -> None:
    # Without the fake permission prompt, headless Chromium refuses the microphone.
    args = [a for a in chromium_args(speech_wav) if a != "--use-fake-ui-for-media-stream"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        page = browser.new_page()
        start(page, app.url)
        expect(page.locator("#status")).to_have_attribute("data-state", "error")
        expect(page.locator("#banner-error")).to_contain_text("Microphone access was denied")
        expect(page.locator("#toggle-text")).to_have_text("Start conversation")
    finally:
        browser.close()


def test_a_rejected_request_is_explained_and_not_retried(page: Page, app: App) -> None:
    page.goto(app.url)
    expect(page.locator("#toggle")).to_be_enabled()
    # Typing stops at 1000 characters; a script can still set more, and the server refuses it.
    page.evaluate("document.getElementById('persona').value = 'x'.repeat(1001)")
    page.click("#toggle")
    expect(page.locator("#status")).to_have_attribute("data-state", "error")
    expect(page.locator("#status-text")).to_contain_text("the limit is 1000")
    expect(page.locator("#banner-error")).to_contain_text("rejected the request")
    page.wait_for_timeout(2500)  # longer than the first reconnect delay
    log = page.locator("#log").text_content() or ""
    assert log.count("connection closed: 4400") == 1, log
    assert get_json(f"{app.loopback.http}/api/sessions") == []


@pytest.mark.parametrize(
    ("settings", "code", "explained"),
    [
        (
            {"MAX_SESSIONS_PER_CLIENT": "1"},
            4429,
            "Too many sessions from this browser's address or account: "
            "too many sessions from this client (1)",
        ),
        (
            {"QUEUE_TIMEOUT_S": "1"},
            4509,
            "Every model server stayed busy for too long: queue timeout: no backend free in 1s",
        ),
    ],
    ids=["too-many-sessions", "queue-timeout"],
)
def test_each_queue_limit_is_explained_in_its_own_words(
    chromium: Browser, settings: dict[str, str], code: int, explained: str
) -> None:
    with running_app(env=settings) as app:
        first = chromium.new_context().new_page()
        second = chromium.new_context().new_page()
        try:
            start(first, app.url)
            wait_live(first, app)
            start(second, app.url)
            expect(second.locator("#status-text")).to_contain_text(explained, timeout=10_000)
            expect(second.locator("#status")).to_have_attribute("data-state", "reconnecting")
            assert f"connection closed: {code} " in (second.locator("#log").text_content() or "")
        finally:
            first.context.close()
            second.context.close()


def test_an_insecure_page_says_why_the_microphone_is_unavailable(
    playwright: Playwright, speech_wav: Path
) -> None:
    # Any name but localhost is an insecure origin over plain http (and one the frontend
    # must be told it serves).
    rules = "MAP voice.test 127.0.0.1, MAP rebound.test 127.0.0.1"
    args = [*chromium_args(speech_wav), f"--host-resolver-rules={rules}"]
    with running_app(env={"SERVER_NAMES": "voice.test"}) as app:
        port = app.url.rsplit(":", 1)[1].strip("/")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            page.goto(f"http://voice.test:{port}/")
            expect(page.locator("#banner-insecure")).to_be_visible()
            expect(page.locator("#banner-insecure")).to_contain_text("https://")
            expect(page.locator("#status-text")).to_have_text("Error: this page needs HTTPS")
            expect(page.locator("#toggle")).to_be_disabled()
            # Another name resolving to the frontend (DNS rebinding) gets no page at all.
            page.goto(f"http://rebound.test:{port}/")
            expect(page.locator("body")).to_contain_text("does not answer to the host name")
            expect(page.locator("#toggle")).to_have_count(0)
        finally:
            browser.close()


def test_page_reconnects_when_the_app_server_restarts(page: Page, app: App) -> None:
    port = app.url.rsplit(":", 1)[1].strip("/")
    env = {"MOSHI_WS_URL": f"ws://{HOST}:{app.loopback.port}"}
    start(page, app.url)
    wait_live(page, app)
    app.frontend.stop()
    expect(page.locator("#status")).to_have_attribute("data-state", "reconnecting", timeout=15_000)
    expect(page.locator("#status-text")).to_contain_text("unreachable", timeout=15_000)
    restarted = ChildServer(["frontend", "--host", HOST, "--port", port], env=env)
    try:
        restarted.wait_healthy(f"{app.url}health")
        expect(page.locator("#status")).to_have_attribute(
            "data-state", "live", timeout=LIVE_TIMEOUT
        )
    finally:
        restarted.stop()
