"""Driving the web client's page in tests: start it, wait for it, read its own counters."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.web.conftest import App

LIVE_TIMEOUT = 30_000  # ms


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.load(reply)


def start(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#toggle")).to_be_enabled()
    page.click("#toggle")


def wait_live(page: Page, app: App) -> None:
    def explain() -> str:
        sessions = get_json(f"{app.loopback.http}/api/sessions")
        return (
            f"loopback sessions: {sessions}\nfrontend output:\n{app.frontend.output()[-3000:]}"
            f"\nloopback output:\n{app.loopback.output()[-3000:]}"
        )

    wait_live_or_explain(page, explain)


def wait_live_or_explain(page: Page, explain: Callable[[], str]) -> None:
    """Until the page is live; if it never gets there, the error carries the page's log and
    what ``explain()`` says about the servers behind it."""
    try:
        expect(page.locator("#status")).to_have_attribute(
            "data-state", "live", timeout=LIVE_TIMEOUT
        )
    except AssertionError as error:
        raise AssertionError(
            f"{error}\npage log:\n{page.locator('#log').text_content()}\n{explain()}"
        ) from error
    expect(page.locator("#status-text")).to_have_text("Live")


def client(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        "() => JSON.parse(JSON.stringify({...scenario6, latency: scenario6.latency.all()}))"
    )
    return result
