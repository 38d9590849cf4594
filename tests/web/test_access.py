"""The access gate in Chromium: the sign-in page with an invitation code, and an identity set
by an authenticating reverse proxy. Real frontend process, loopback backend."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.redis import redis_server
from tests.web.conftest import App, running_app
from tests.web.pages import start, wait_live

pytestmark = pytest.mark.browser
CODE = "k8Jx-2pQr-wz7L"


@pytest.fixture
def gated_app() -> Iterator[App]:
    with running_app(env={"ACCESS_CODES": f"alice:{CODE}"}) as running:
        yield running


@contextlib.contextmanager
def proxied_app(trusted_proxies: str) -> Iterator[App]:
    """The gate reading X-Forwarded-User from TRUSTED_PROXIES; Chromium, at 127.0.0.1, stands
    in for the proxy by sending that header itself."""
    env = {
        "ACCESS_CODES": f"alice:{CODE}",
        "ACCESS_IDENTITY_HEADER": "X-Forwarded-User",
        "TRUSTED_PROXIES": trusted_proxies,
    }
    with running_app(env=env) as running:
        yield running


def context_with(chromium: Browser, headers: dict[str, str]) -> BrowserContext:
    return chromium.new_context(viewport={"width": 1280, "height": 860}, extra_http_headers=headers)


def sign_in(page: Page, code: str) -> None:
    page.fill("#code", code)
    page.click("#signin-submit")


def test_an_invitation_code_signs_in_for_a_live_conversation_until_sign_out(
    page: Page, gated_app: App
) -> None:
    page.goto(gated_app.url)
    expect(page).to_have_url(gated_app.url + "signin")
    expect(page.locator("#toggle")).to_have_count(0)

    sign_in(page, "not-the-code")
    expect(page.locator("#signin-error")).to_have_text(
        "That code is not valid: check it and try again."
    )
    expect(page).to_have_url(gated_app.url + "signin")

    sign_in(page, CODE)
    expect(page).to_have_url(gated_app.url)
    expect(page.locator("#identity-name")).to_have_text("Signed in as alice")
    [cookie] = page.context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Lax")
    assert cookie["expires"] > 0  # a lasting cookie, not one for this window only
    assert page.evaluate("document.cookie") == ""  # invisible to scripts

    start(page, gated_app.url)
    wait_live(page, gated_app)
    page.click("#toggle")
    expect(page.locator("#status-text")).to_have_text("Ready")

    page.click("#signout")
    expect(page).to_have_url(gated_app.url + "signin")
    assert page.context.cookies() == []
    page.goto(gated_app.url)
    expect(page).to_have_url(gated_app.url + "signin")


def test_a_session_refused_for_want_of_a_sign_in_says_so(page: Page, gated_app: App) -> None:
    page.goto(gated_app.url + "signin")
    sign_in(page, CODE)
    expect(page.locator("#identity-name")).to_have_text("Signed in as alice")
    page.context.clear_cookies()  # as when the sign-in expires with the page open
    expect(page.locator("#toggle")).to_be_enabled()
    page.click("#toggle")
    expect(page.locator("#status")).to_have_attribute("data-state", "error")
    expect(page.locator("#banner-error-text")).to_contain_text("Not signed in")
    expect(page.locator("#banner-error-text")).to_contain_text("reload the page to sign in")


def test_a_trusted_proxy_s_identity_header_lets_its_user_in_without_a_code(
    chromium: Browser,
) -> None:
    context = context_with(chromium, {"X-Forwarded-User": "carol@example.org"})
    try:
        with proxied_app(trusted_proxies="127.0.0.1") as app:
            page = context.new_page()
            page.goto(app.url)
            expect(page).to_have_url(app.url)
            expect(page.locator("#identity-name")).to_have_text("Signed in as carol@example.org")
            expect(page.locator("#signout")).to_be_hidden()  # one signs out at the proxy
            start(page, app.url)
            wait_live(page, app)  # the WebSocket upgrade carried the identity too
    finally:
        context.close()


def test_the_identity_header_from_a_peer_not_trusted_gets_the_sign_in_page(
    chromium: Browser,
) -> None:
    context = context_with(chromium, {"X-Forwarded-User": "mallory"})
    try:
        with proxied_app(trusted_proxies="") as app:
            page = context.new_page()
            page.goto(app.url)
            expect(page).to_have_url(app.url + "signin")
    finally:
        context.close()


def test_the_sign_in_page_says_when_sign_in_is_briefly_unavailable(page: Page) -> None:
    """Replicas that count wrong codes in Redis check no code while it does not answer."""
    with redis_server() as store:
        env = {"ACCESS_CODES": f"alice:{CODE}", "REDIS_URL": store.url}
        with running_app(env=env) as app:
            store.stop()
            page.goto(app.url + "signin")
            sign_in(page, CODE)
            expect(page.locator("#signin-error")).to_have_text(
                "Sign-in is briefly unavailable: try again in 5 s."
            )
            expect(page).to_have_url(app.url + "signin")
            assert page.context.cookies() == []
