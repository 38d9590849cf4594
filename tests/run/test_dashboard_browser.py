"""The built-in dashboard of a real ``scenario6 run`` (frontend native, backend in a container),
in Chromium: the login page, both resources with endpoints that open, the frontend's log while
it reloads, a live conversation in the sessions view, a killed backend and the restart button."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from scenario6.bench.reload import RouteEditor
from scenario6.facts.names import BACKEND, FRONTEND
from scenario6.run.control import state
from tests.run.conftest import ALL_UP, CONTAINER_BACKEND, ContainerApp, RunCommand
from tests.support.client import conversation
from tests.support.docker import docker_cli

pytestmark = [pytest.mark.docker, pytest.mark.browser]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WAIT_MS = 60_000  # bounds that only catch hangs


@contextmanager
def live_conversation(port: int) -> Iterator[None]:
    """One conversation through the frontend, held open (in its own thread and event loop)."""
    url = f"ws://127.0.0.1:{port}/api/chat?voice_prompt=NATF2.pt&text_prompt=Be+brief."
    ready, done = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    async def talk() -> None:
        async with conversation(url) as chat:
            await chat.wait_for(chat.handshake.is_set, timeout=30)
            ready.set()
            await asyncio.to_thread(done.wait, 120)

    def main() -> None:
        try:
            asyncio.run(talk())
        except BaseException as error:  # reported by the test's thread
            failed.append(error)
            ready.set()

    thread = threading.Thread(target=main)
    thread.start()
    try:
        assert ready.wait(60) and not failed, failed
        yield
    finally:
        done.set()
        thread.join(30)


def opens(page: Page, link: Locator) -> str:
    """The text of the page a click on ``link`` opens (in a new tab)."""
    with page.context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    text = tab.locator("body").inner_text()
    tab.close()
    return text


def test_the_dashboard_shows_and_drives_a_real_run(
    workspace: Path,
    container_app: ContainerApp,
    run_command: type[RunCommand],
    chromium: Browser,
) -> None:
    app = container_app
    run = run_command(workspace, CONTAINER_BACKEND, app.env)
    run.wait_output(ALL_UP, timeout=900)
    found = state.read(workspace)
    assert found is not None and f"dashboard: {found.login_url}" in run.output()
    context = chromium.new_context(viewport={"width": 1440, "height": 720})
    try:
        page = context.new_page()
        refused = page.goto(f"{found.url}/dashboard/")
        assert refused is not None and refused.status == 401
        expect(page.locator("#login-needed")).to_be_visible()

        page.goto(found.login_url)
        assert page.url == f"{found.url}/dashboard/"
        backend = page.locator(f'tr[data-resource="{BACKEND}"]')
        frontend = page.locator(f'tr[data-resource="{FRONTEND}"]')
        for row in (backend, frontend):
            expect(row).to_have_attribute("data-state", "running", timeout=WAIT_MS)
            expect(row).to_have_attribute("data-health", "healthy", timeout=WAIT_MS)
        websocket = [url for url in found.resources[BACKEND] if url.startswith("ws:")]
        expect(backend.locator(".endpoints code")).to_have_text(websocket)
        assert "loopback backend" in opens(page, backend.locator(".endpoints a").first)
        assert "PersonaPlex" in opens(page, frontend.locator(".endpoints a").first)

        with live_conversation(app.frontend_port):
            expect(page.locator("#sessions-live")).to_have_text("1", timeout=WAIT_MS)
            expect(page.locator("#backends tbody tr td").nth(3)).to_have_text("1")
            # Its polls stay out of the frontend's log, shown here.
            expect(page.locator("#log-resource")).to_have_value(FRONTEND)
            assert page.locator("#log .line", has_text="/api/sessions").count() == 0
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / "dashboard.png")
        expect(page.locator("#sessions-live")).to_have_text("0", timeout=WAIT_MS)

        # The frontend's console log, live while an edit reloads it.
        page.select_option("#log-resource", FRONTEND)
        reloads = page.locator("#log .line", has_text="reloaded in")
        before = reloads.count()
        editor = RouteEditor(workspace)
        try:
            editor.edit("dashboard")
            expect(reloads).to_have_count(before + 1, timeout=WAIT_MS)
        finally:
            editor.restore()
        page.fill("#log-filter", "reloaded in")
        expect(page.locator("#log .line:not([hidden])")).to_have_count(before + 1)

        # A killed backend container shows at once; the restart button brings it back.
        restarts = int(backend.locator("td").nth(5).inner_text())
        (container_id, *_), *_ = app.containers()
        killed = time.monotonic()
        docker_cli("kill", container_id)
        page.wait_for_function(
            """(name) => {
                const row = document.querySelector(`tr[data-resource="${name}"]`);
                return row.dataset.state !== "running" || row.dataset.health === "unhealthy";
            }""",
            arg=BACKEND,
            timeout=WAIT_MS,
        )
        shown = time.monotonic() - killed
        print(f"killed backend shown as {backend.get_attribute('data-state')} in {shown:.2f} s")
        assert shown < 10
        backend.locator('button[data-command="restart"]').click()
        expect(backend).to_have_attribute("data-state", "running", timeout=WAIT_MS)
        expect(backend).to_have_attribute("data-health", "healthy", timeout=WAIT_MS)
        assert int(backend.locator("td").nth(5).inner_text()) > restarts
        expect(page.locator("#notice")).to_be_hidden()
    finally:
        context.close()
