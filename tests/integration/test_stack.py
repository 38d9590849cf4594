"""The same checks against the app started both ways: published (``scenario6 deploy``, both
services in containers, HTTPS) and run (``scenario6 run``, the frontend native), each with the
loopback backend and with the real PersonaPlex server (the ``personaplex`` image on a CPU with
the tiny random model). Only the model's weights are stand-ins; everything else is the product
as users start it. Clients send audio only after the handshake, as real clients do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from tests.integration.conftest import (
    ACCESS_CODE,
    FRONTEND_IMAGE,
    SECRET,
    Stack,
    backend_container,
)
from tests.support.audio import best_correlation, encode_messages, sweep
from tests.support.client import Conversation, conversation
from tests.support.docker import docker_cli

pytestmark = pytest.mark.docker


def test_health(stack: Stack) -> None:
    health = stack.get_json("/health")
    assert health["status"] == "ok"
    assert health["service"] == "scenario6-frontend"


async def _converse(stack: Stack, sent: np.ndarray, **extra: str) -> Conversation:
    """Handshake, then ``sent`` at the real-time pace, until about as much audio is back."""
    async with conversation(stack.ws(**extra), **stack.connect) as talk:
        await talk.wait_for(lambda: talk.handshake.is_set() or talk.closed.is_set(), timeout=60)
        assert talk.handshake.is_set(), f"closed before the handshake: {talk.close_code}"
        await talk.send_audio(encode_messages(sent))
        # Both backends' output is clocked by their input: one frame back per frame sent.
        await talk.wait_for(lambda: len(talk.decoder.pcm) >= len(sent) * 0.6, timeout=30)
    return talk


async def test_config_names_the_backend(stack: Stack) -> None:
    [backend] = stack.get_json("/api/config")["backends"]
    assert (backend["host"], backend["port"]) == ("127.0.0.1", stack.backend_port)
    async with conversation(stack.ws(), **stack.connect) as talk:
        await talk.wait_for(talk.handshake.is_set, timeout=60)
    config = stack.get_json("/api/config")
    assert config["backends"][0]["kind"] == stack.kind
    assert config["loopback"] is (stack.backend == "loopback")


async def test_a_conversation_brings_back_decodable_audio_as_long_as_was_sent(
    stack: Stack,
) -> None:
    sent = sweep(2.0)
    talk = await _converse(stack, sent, events="1")
    [backend] = talk.events_of("backend")
    assert backend["kind"] == stack.kind
    assert str(backend["url"]).startswith("wss://" if stack.backend_tls else "ws://")
    assert len(sent) * 0.6 <= len(talk.decoder.pcm) <= len(sent) * 1.5
    assert not talk.events_of("error")


@pytest.mark.parametrize("stack", ["loopback-publish", "loopback-run"], indirect=True)
async def test_the_loopback_echoes_what_it_hears_and_says_it_is_a_stand_in(stack: Stack) -> None:
    sent = sweep(2.0)
    talk = await _converse(stack, sent)
    correlation, _ = best_correlation(sent, talk.decoder.pcm)
    assert correlation > 0.8
    assert "".join(talk.text).startswith(" [loopback")


async def test_a_client_beyond_the_backends_slots_is_queued(stack: Stack) -> None:
    """As many conversations as the backend holds run at once; the next one waits in line."""
    async with contextlib.AsyncExitStack() as held:
        first = [
            await held.enter_async_context(conversation(stack.ws(), **stack.connect))
            for _ in range(stack.slots)
        ]
        for talk in first:
            await talk.wait_for(talk.handshake.is_set, timeout=60)
        async with conversation(stack.ws("VARM3.pt", events="1"), **stack.connect) as second:
            await second.wait_for(lambda: second.events_of("queued"), timeout=30)
            assert second.events_of("queued")[0]["position"] == 1
            assert not second.handshake.is_set()
            await first[0].ws.close()
            await second.wait_for(second.handshake.is_set, timeout=60)


async def test_a_backend_killed_mid_session_closes_it_and_a_restarted_one_serves_again(
    stack: Stack,
) -> None:
    async with conversation(stack.ws(), **stack.connect) as talk:
        await talk.wait_for(talk.handshake.is_set, timeout=60)
        container = backend_container(stack.backend_port)
        # A crash, not a stop: Docker (published) or the run supervisor brings it back.
        pid = int(docker_cli("inspect", "--format", "{{.State.Pid}}", container))
        os.kill(pid, 9)
        await talk.wait_for(talk.closed.is_set, timeout=60)
    assert talk.close_code == 4503, (talk.close_code, talk.close_reason)
    assert "backend closed the session" in (talk.close_reason or "")
    sent = sweep(1.0)
    deadline = time.monotonic() + 300  # the restart, the model loading again: a hang ends
    while True:
        try:
            talk = await _converse(stack, sent)
            break
        except (OSError, asyncio.TimeoutError, AssertionError):
            if time.monotonic() > deadline:
                pytest.fail("no session worked within 300 s of the backend's restart")
            await asyncio.sleep(1)
    assert len(talk.decoder.pcm) > 0


# The published stacks only (images, HTTPS); the browser check also shows the loopback banner.
published_only = pytest.mark.parametrize(
    "stack", ["loopback-publish", "personaplex-publish"], indirect=True
)
published_loopback = pytest.mark.parametrize("stack", ["loopback-publish"], indirect=True)


@published_only
async def test_a_published_stack_admits_only_invited_people(stack: Stack) -> None:
    stranger = Stack(stack.mode, stack.http, stack.backend_port, ca=stack.ca)
    assert stranger.get_json("/health")["status"] == "ok"  # probes stay open
    with pytest.raises(urllib.error.HTTPError) as refused:
        stranger.get_json("/api/config")
    refused.value.close()
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as wrong:
        stranger.sign_in("not-the-code")
    wrong.value.close()
    assert wrong.value.code == 401
    async with conversation(stranger.ws(), **stranger.connect) as talk:
        await talk.wait_for(talk.closed.is_set, timeout=30)
    assert (talk.close_code, talk.handshake.is_set()) == (4401, False)
    assert stack.get_json("/api/config")["access"]["identity"] == "tester"


@pytest.mark.parametrize("stack", ["loopback-run", "personaplex-run"], indirect=True)
def test_run_mode_on_localhost_needs_no_sign_in(stack: Stack) -> None:
    assert stack.get_json("/api/config")["access"] == {
        "gate": False,
        "identity": None,
        "signout": False,
    }


@published_only
def test_the_token_reaches_no_image_container_or_log(stack: Stack) -> None:
    assert stack.project is not None and stack.folder is not None
    for image in (FRONTEND_IMAGE, stack.image):
        config = docker_cli("image", "inspect", image)
        history = docker_cli("history", "--no-trunc", image)
        assert SECRET not in config and SECRET not in history, image
        assert "HF_TOKEN" not in json.loads(config)[0]["Config"].get("Env", []), image
    ids = stack.project.run("ps", "-aq", capture=True, env=stack.compose_env).stdout.split()
    assert len(ids) == 3  # backend, frontend, certificate copy
    for container in ids:
        env = json.loads(docker_cli("inspect", "--format", "{{json .Config.Env}}", container))
        assert not [e for e in env if e.startswith("HF_TOKEN=")], container
        logs = subprocess.run(
            ["docker", "logs", container], capture_output=True, text=True, timeout=30, check=True
        )
        assert SECRET not in logs.stdout + logs.stderr
        assert ACCESS_CODE not in logs.stdout + logs.stderr  # signed in, never logged
    for path in stack.folder.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
            assert ACCESS_CODE.encode() not in path.read_bytes(), path


def test_a_browser_conversation_through_the_proxy(stack: Stack, tmp_path: Path) -> None:
    """Chromium with a speaking fake microphone, the app's own page: live, the microphone's
    audio sent, the backend's audio played. Published stacks serve HTTPS with their own
    certificate; run mode serves http on 127.0.0.1, a secure context too."""
    from playwright.sync_api import expect, sync_playwright

    from scenario6.bench.browser import CHROMIUM, chromium_args, voice_like_wav
    from scenario6.publish.tls import spki_sha256
    from tests.conftest import require_tool
    from tests.web.pages import client

    require_tool("chromium", CHROMIUM)
    args = chromium_args(voice_like_wav(tmp_path / "voice.wav"))
    if stack.folder is not None:
        spki = spki_sha256((stack.folder / "certs" / "cert.pem").read_bytes())
        args.append(f"--ignore-certificate-errors-spki-list={spki}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            page.goto(stack.http + "/")
            if stack.mode == "publish":  # the gate: sign in on its page first
                expect(page).to_have_url(stack.http + "/signin")
                page.fill("#code", ACCESS_CODE)
                page.click("#signin-submit")
                expect(page).to_have_url(stack.http + "/")
                expect(page.locator("#identity-name")).to_have_text("Signed in as tester")
                [cookie] = page.context.cookies()
                assert cookie["secure"] and cookie["httpOnly"]
            assert page.evaluate("window.isSecureContext") is True
            expect(page.locator("#banner-insecure")).to_be_hidden()
            expect(page.locator("#toggle")).to_be_enabled()
            page.click("#toggle")
            expect(page.locator("#status")).to_have_attribute("data-state", "live", timeout=60_000)
            loopback = expect(page.locator("#banner-loopback"))
            if stack.backend == "loopback":
                loopback.to_be_visible()
            else:
                loopback.to_be_hidden()
            # The backend's audio is played: samples counted by the playback worklet.
            page.wait_for_function(
                "scenario6.playedSamples > 2 * scenario6.sampleRate", timeout=30_000
            )
            page.screenshot(path=tmp_path / f"{stack.backend}-{stack.mode}.png")
            state = client(page)
            assert state["oggErrors"] == 0
            assert state["sentAudioMessages"] > 25
            page.click("#toggle")
            expect(page.locator("#status-text")).to_have_text("Ready")
        finally:
            browser.close()


@published_loopback
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
