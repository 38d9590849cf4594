"""Several people at once on one batched PersonaPlex server, each in a Chromium page with a
speaking fake microphone, through the real frontend: the proxy learns from the server's
upgrade response that it holds three conversations, serves three pages together and queues
the fourth until one of them ends."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect
from websockets.sync.client import connect

from scenario6.bench.harness import HOST, ChildServer
from tests.personaplex.conftest import SLOTS
from tests.support.personaplex import PersonaPlexProcess
from tests.support.servers import frontend_process
from tests.web.pages import LIVE_TIMEOUT, client, get_json, wait_live_or_explain

pytestmark = pytest.mark.browser
KIND = "personaplex-batched"
PROMPTS = {"voice_prompt": "NATF2.pt", "text_prompt": "Be brief."}


@dataclass
class BatchedApp:
    url: str
    frontend: ChildServer
    backend: PersonaPlexProcess

    def explain(self) -> str:
        return (
            f"frontend output:\n{self.frontend.output()[-3000:]}\n"
            f"batched server output:\n{self.backend.output()[-3000:]}"
        )

    def backends(self) -> list[dict[str, object]]:
        """What the frontend says about its backends (kind, slots, sessions open)."""
        described: list[dict[str, object]] = get_json(f"{self.url}api/config")["backends"]
        return described


@pytest.fixture(scope="module")
def app(batched: PersonaPlexProcess) -> Iterator[BatchedApp]:
    """The frontend, configured as for upstream's server (one session per backend), in front
    of the batched server."""
    with frontend_process({"MOSHI_WS_URL": batched.url}) as (frontend, port):
        yield BatchedApp(f"http://{HOST}:{port}/", frontend, batched)


def open_one_session(app: BatchedApp) -> None:
    """A session through the frontend until it is on the backend (the events say so).

    Playwright's synchronous API holds this thread's event loop: a synchronous client."""
    url = app.url.replace("http", "ws", 1) + "api/chat?" + urlencode({**PROMPTS, "events": "1"})
    with connect(url) as ws:
        # Events (text) come first; the backend event once the upstream session is open.
        while not isinstance(event := ws.recv(30), str) or json.loads(event)["type"] != "backend":
            pass


@contextlib.contextmanager
def pages(chromium: Browser, count: int) -> Iterator[list[Page]]:
    """``count`` pages, each in its own browser context: one person each."""
    contexts = [chromium.new_context() for _ in range(count)]
    try:
        yield [context.new_page() for context in contexts]
    finally:
        for context in contexts:
            context.close()


def ready(page: Page, url: str) -> None:
    """The page loaded with a short persona: a shorter prompt phase, the same conversation."""
    page.goto(url)
    page.fill("#persona", PROMPTS["text_prompt"])
    expect(page.locator("#toggle")).to_be_enabled()


def played_seconds(page: Page) -> float:
    state = client(page)
    return float(state["playedSamples"]) / float(state["sampleRate"])


def assert_plays_the_backend(page: Page, seconds: float) -> None:
    """The backend's audio comes back and is played: samples counted by the playback
    worklet, a level above silence; and the page knows it is not the loopback."""
    page.wait_for_function(
        f"scenario6.playedSamples > {seconds} * scenario6.sampleRate", timeout=20_000
    )
    page.wait_for_function("scenario6.player && scenario6.player.level > 0.01", timeout=10_000)
    expect(page.locator("#banner-loopback")).to_be_hidden()
    state = client(page)
    assert state["backendKind"] == KIND
    assert state["oggErrors"] == 0
    assert state["sentAudioMessages"] > 25


def test_three_pages_are_live_together_and_a_fourth_queues_until_one_ends(
    chromium: Browser, app: BatchedApp
) -> None:
    # Before its first session the proxy knows nothing of this backend but the configured
    # one session; the upgrade response of the first tells it the rest.
    assert app.backends()[0]["slots"] == 1
    open_one_session(app)
    [backend] = app.backends()
    assert (backend["kind"], backend["slots"]) == (KIND, SLOTS)

    with pages(chromium, SLOTS + 1) as everyone:
        *three, fourth = everyone
        for page in everyone:
            ready(page, app.url)
        for page in three:  # as close together as three people can click
            page.click("#toggle")
        for page in three:
            wait_live_or_explain(page, app.explain)
        for page in three:
            expect(page.locator("#status")).to_have_attribute("data-state", "live")
            log = page.locator("#log").text_content() or ""
            assert "queued" not in log, log
        assert app.backends()[0]["active"] == SLOTS
        for page in three:
            assert_plays_the_backend(page, 3)

        fourth.click("#toggle")
        expect(fourth.locator("#status-text")).to_have_text("Queued #1", timeout=LIVE_TIMEOUT)
        expect(fourth.locator("#status")).to_have_attribute("data-state", "queued")
        expect(fourth.locator("#session-note")).to_contain_text("number 1 in the queue")

        leaving, *staying = three
        played = [played_seconds(page) for page in staying]
        leaving.click("#toggle")
        expect(leaving.locator("#status-text")).to_have_text("Ready")
        wait_live_or_explain(fourth, app.explain)
        expect(fourth.locator("#session-note")).to_be_hidden()
        assert app.backends()[0]["active"] == SLOTS
        assert_plays_the_backend(fourth, 1)
        # The two who stayed were never interrupted, and are still being answered.
        for page, before in zip(staying, played, strict=True):
            expect(page.locator("#status")).to_have_attribute("data-state", "live")
            page.wait_for_function(f"scenario6.playedSamples > {before + 1} * scenario6.sampleRate")
            assert "connection closed" not in (page.locator("#log").text_content() or "")
