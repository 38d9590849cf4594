"""The same checks against the app started both ways: published (``scenario6 deploy``, both
services in containers, HTTPS) and run (``scenario6 run``, the frontend native). The loopback
backend stands in for the GPU model; everything else is the product as users start it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import BACKEND_IMAGE, FRONTEND_IMAGE, SECRET, Stack
from tests.support.audio import best_correlation, encode_messages, sweep
from tests.support.client import conversation
from tests.support.docker import docker_cli

pytestmark = pytest.mark.docker


def test_health(stack: Stack) -> None:
    health = stack.get_json("/health")
    assert health["status"] == "ok"
    assert health["service"] == "scenario6-frontend"


async def test_config_shows_the_loopback_backend(stack: Stack) -> None:
    [backend] = stack.get_json("/api/config")["backends"]
    assert (backend["host"], backend["port"]) == ("127.0.0.1", stack.backend_port)
    async with conversation(stack.ws(), ssl=stack.ssl) as talk:
        await talk.wait_for(talk.handshake.is_set, timeout=60)
    config = stack.get_json("/api/config")
    assert config["backends"][0]["kind"] == "loopback"
    assert config["loopback"] is True


async def test_conversation_through_the_proxy_echoes_real_audio(stack: Stack) -> None:
    sent = sweep(2.0)
    async with conversation(stack.ws(events="1"), ssl=stack.ssl) as talk:
        await talk.wait_for(talk.handshake.is_set, timeout=60)
        [backend] = talk.events_of("backend")
        assert backend["kind"] == "loopback"
        await talk.send_audio(encode_messages(sent))
        await talk.wait_for(lambda: len(talk.decoder.pcm) >= len(sent) * 0.8, timeout=30)
        await talk.wait_for(lambda: len(talk.text) >= 2, timeout=30)
    correlation, _ = best_correlation(sent, talk.decoder.pcm)
    assert correlation > 0.8
    assert "".join(talk.text).startswith(" [loopback")


async def test_second_client_is_queued(stack: Stack) -> None:
    async with conversation(stack.ws(), ssl=stack.ssl) as first:
        await first.wait_for(first.handshake.is_set, timeout=60)
        async with conversation(stack.ws("VARM3.pt", events="1"), ssl=stack.ssl) as second:
            await second.wait_for(lambda: second.events_of("queued"), timeout=30)
            assert second.events_of("queued")[0]["position"] == 1
            assert not second.handshake.is_set()
            await first.ws.close()
            await second.wait_for(second.handshake.is_set, timeout=60)


# The published stack only (images, HTTPS): these take the "publish" instance of `stack`.
published_only = pytest.mark.parametrize("stack", ["publish"], indirect=True)


@published_only
def test_the_token_reaches_no_image_container_or_log(stack: Stack) -> None:
    assert stack.project is not None and stack.folder is not None
    for image in (FRONTEND_IMAGE, BACKEND_IMAGE):
        config = docker_cli("image", "inspect", image)
        history = docker_cli("history", "--no-trunc", image)
        assert SECRET not in config and SECRET not in history, image
        assert "HF_TOKEN" not in json.loads(config)[0]["Config"].get("Env", []), image
    ids = stack.project.run("ps", "-aq", capture=True, env=_compose_env(stack)).stdout.split()
    assert len(ids) == 3  # backend, frontend, certificate copy
    for container in ids:
        env = json.loads(docker_cli("inspect", "--format", "{{json .Config.Env}}", container))
        assert not [e for e in env if e.startswith("HF_TOKEN=")], container
        logs = subprocess.run(
            ["docker", "logs", container], capture_output=True, text=True, timeout=30, check=True
        )
        assert SECRET not in logs.stdout + logs.stderr
    for path in stack.folder.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


@published_only
def test_browser_session_over_https_with_the_generated_certificate(
    stack: Stack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from scenario6.bench.browser import CHROMIUM, chromium_args, voice_like_wav
    from scenario6.publish.tls import spki_sha256
    from tests.conftest import require_tool

    require_tool("chromium", CHROMIUM)
    assert stack.folder is not None
    spki = spki_sha256((stack.folder / "certs" / "cert.pem").read_bytes())
    args = [*chromium_args(voice_like_wav(tmp_path / "voice.wav"))]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*args, f"--ignore-certificate-errors-spki-list={spki}"],
        )
        try:
            context = browser.new_context(ignore_https_errors=False)
            page = context.new_page()
            page.goto(stack.http + "/")
            assert page.evaluate("window.isSecureContext") is True
            assert page.evaluate("typeof navigator.mediaDevices.getUserMedia") == "function"
            expect(page.locator("#toggle")).to_be_enabled()
            page.click("#toggle")
            expect(page.locator("#status")).to_have_attribute("data-state", "live", timeout=60_000)
            expect(page.locator("#banner-loopback")).to_be_visible()
            expect(page.locator("#banner-insecure")).to_be_hidden()
        finally:
            browser.close()


@published_only
def test_an_unknown_certificate_is_refused(stack: Stack) -> None:
    """The check above can fail: without the certificate's hash Chromium refuses the page."""
    from playwright.sync_api import Error, sync_playwright

    from scenario6.bench.browser import CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            with pytest.raises(Error, match="CERT"):
                page.goto(stack.http + "/")
        finally:
            browser.close()


def _compose_env(stack: Stack) -> dict[str, str]:
    import os

    assert stack.project is not None
    return {**os.environ, "SCENARIO6_TEST_MOSHI_PORT": "1", "SCENARIO6_TEST_FRONTEND_PORT": "1"}
