"""The web client end to end: headless Chromium, a fake microphone speaking a WAV file, the
real frontend and the loopback backend. What the backend received is compared with the WAV;
what came back is counted as it is rendered by the page's playback worklet."""

from __future__ import annotations

import io
import re
import struct
import urllib.request
import wave
from pathlib import Path

import numpy as np
import pytest
import sphn
from playwright.sync_api import Browser, Page, Route, expect

from tests.support.audio import RATE, best_correlation
from tests.web.conftest import App, running_app
from tests.web.pages import LIVE_TIMEOUT, client, get_json, start, wait_live

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


def recorded_input(app: App, session_id: int) -> np.ndarray:
    url = f"{app.loopback.http}/api/sessions/{session_id}/input.wav"
    with urllib.request.urlopen(url, timeout=5) as reply:
        data = reply.read()
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (RATE, 1, 2)
        frames = wav.readframes(wav.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768


def speech_at_24k(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32)
        rate = wav.getframerate()
    return np.asarray(sphn.resample(pcm / 32768, src_sample_rate=rate, dst_sample_rate=RATE))


def test_live_conversation_sends_the_microphone_and_plays_the_echo(
    page: Page, app: App, speech_wav: Path
) -> None:
    start(page, app.url)
    wait_live(page, app)
    expect(page.locator("#banner-loopback")).to_be_visible()
    expect(page.locator("#banner-insecure")).to_be_hidden()

    # (b) The echo comes back and is played: samples counted by the playback worklet.
    page.wait_for_function("scenario6.playedSamples > 3 * scenario6.sampleRate", timeout=20_000)
    page.wait_for_function("scenario6.player && scenario6.player.level > 0.01", timeout=10_000)
    expect(page.locator("#speaking")).to_have_attribute("data-active", "true", timeout=10_000)
    # (c) The backend's words stream into a bubble.
    expect(page.locator("#transcript .bubble").first).to_contain_text(
        "[loopback backend] echoing", timeout=10_000
    )
    expect(page.locator("#transcript .bubble")).to_have_count(1)  # words a second apart
    # The latency figures are measured, not placeholders.
    for figure in ("#lat-rt", "#lat-mic", "#lat-spk"):
        expect(page.locator(figure)).to_have_text(re.compile(r"^\d+ ms$"), timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web-live.png")
    state = client(page)
    assert state["oggErrors"] == 0
    assert state["sentAudioMessages"] > 50

    page.click("#toggle")
    expect(page.locator("#status-text")).to_have_text("Ready")
    expect(page.locator("#toggle-text")).to_have_text("Start conversation")

    # (a) The backend received a valid Ogg Opus stream carrying the microphone's speech.
    session = get_json(f"{app.loopback.http}/api/sessions")[-1]
    assert session["voice_prompt"] == "NATF2.pt"
    assert session["ogg_errors"] == 0
    assert session["messages"]["audio"] > 50
    received = recorded_input(app, session["id"])
    assert len(received) > 3 * RATE
    reference = speech_at_24k(speech_wav)
    # The fake microphone loops the file from wherever it happens to be, and may skip a beat
    # on a busy machine: match one-second pieces against one lap of the file and its start.
    # Speech scores about 0.75 here, unrelated sound about 0.02.
    lap = np.tile(reference, 2)[: len(reference) + RATE]
    scores = [
        best_correlation(received[start : start + RATE], lap)[0]
        for start in range(RATE // 2, len(received) - RATE, RATE)
    ]
    assert float(np.median(scores)) > 0.5, f"the recorded audio does not match the WAV: {scores}"


def test_second_page_is_queued_and_served_when_the_first_stops(chromium: Browser, app: App) -> None:
    first = chromium.new_context().new_page()
    second = chromium.new_context().new_page()
    try:
        start(first, app.url)
        wait_live(first, app)
        start(second, app.url)
        expect(second.locator("#status-text")).to_have_text("Queued #1", timeout=LIVE_TIMEOUT)
        expect(second.locator("#status")).to_have_attribute("data-state", "queued")
        expect(second.locator("#session-note")).to_contain_text("number 1 in the queue")
        first.click("#toggle")
        wait_live(second, app)
        expect(second.locator("#session-note")).to_be_hidden()
        second.wait_for_function("scenario6.playedSamples > scenario6.sampleRate")
    finally:
        first.context.close()
        second.context.close()


def test_the_client_takes_the_audio_format_from_the_server(page: Page, app: App) -> None:
    """Served a 16 kHz stream and a 100 ms frame (PersonaPlex: 24 kHz, 80 ms), the page
    encodes at 16 kHz and starts playback once 100 ms is buffered."""

    def other_format(route: Route) -> None:
        served = route.fetch()
        config = served.json()
        config["audio"] = {"sample_rate": 16000, "frame_ms": 100}
        route.fulfill(response=served, json=config)

    page.route("**/api/config", other_format)
    page.add_init_script(
        """{
          const send = WebSocket.prototype.send;
          WebSocket.prototype.send = function (data) {
            globalThis.firstSent ??= Array.from(new Uint8Array(data));
            return send.call(this, data);
          };
        }"""
    )
    start(page, app.url)
    # Until audio first arrives, the playback target is where it starts (then it may grow).
    target = page.wait_for_function(
        "scenario6.player && scenario6.receivedAudioMessages === 0 && scenario6.player.targetMs"
    ).json_value()
    assert round(target) == 100
    wait_live(page, app)
    first = bytes(page.wait_for_function("globalThis.firstSent").json_value())
    assert first[0] == 0x01  # an audio message, its OpusHead page first
    head = first.index(b"OpusHead")
    assert struct.unpack_from("<I", first, head + 12)[0] == 16000  # its input sample rate


def test_changing_the_voice_offers_a_restart_that_uses_it(page: Page, app: App) -> None:
    start(page, app.url)
    wait_live(page, app)
    expect(page.locator("#banner-restart")).to_be_hidden()
    page.select_option("#voice", "VARM1")
    expect(page.locator("#banner-restart")).to_be_visible()
    page.click("#restart-now")
    wait_live(page, app)
    expect(page.locator("#banner-restart")).to_be_hidden()
    sessions = get_json(f"{app.loopback.http}/api/sessions")
    assert [s["voice_prompt"] for s in sessions[-2:]] == ["NATF2.pt", "VARM1.pt"]


def test_markup_from_the_server_is_shown_as_text(page: Page, app: App) -> None:
    page.goto(app.url)
    # The loopback backend speaks the persona's first words back as text.
    page.fill("#persona", '<img src=x onerror="window.injected=1"> hello')
    page.click("#toggle")
    wait_live(page, app)
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text("<img", timeout=20_000)
    assert transcript.locator("img").count() == 0
    assert page.evaluate("window.injected === undefined")


def test_no_static_code_writes_markup() -> None:
    static = ROOT / "src" / "scenario6" / "frontend" / "static"
    markup_sinks = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write")
    offenders = [
        str(path.relative_to(static))
        for path in static.rglob("*.js")
        if any(sink in path.read_text() for sink in markup_sinks)
    ]
    assert offenders == []


def test_controls_offer_voices_presets_a_counted_persona_and_themes(page: Page, app: App) -> None:
    config = get_json(f"{app.url}api/config")
    page.goto(app.url)
    expect(page.locator("#toggle")).to_be_enabled()
    groups = config["voices"]["groups"]
    assert page.locator("#voice optgroup").count() == len(groups)
    assert page.locator("#voice option").count() == sum(len(g["voices"]) for g in groups) == 18
    expect(page.locator("#voice")).to_have_value(config["voices"]["default"])

    teacher = next(p for p in config["personas"]["presets"] if p["id"] == "teacher")
    page.click("#presets button[data-id=teacher]")
    expect(page.locator("#persona")).to_have_value(teacher["prompt"])
    expect(page.locator("#presets button[data-id=teacher]")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("#persona-count")).to_have_text(f"{len(teacher['prompt'])} / 1000")
    page.fill("#persona", "")
    expect(page.locator("#toggle")).to_be_disabled()  # upstream cannot take an empty persona
    page.fill("#persona", "y" * 1200)
    expect(page.locator("#persona")).to_have_value("y" * 1000)
    expect(page.locator("#persona-count")).to_have_attribute("data-level", "full")

    page.select_option("#voice", "VARF3")
    page.select_option("#theme", "dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.locator("html")).to_have_attribute("data-scheme", "dark")
    page.reload()
    expect(page.locator("#voice")).to_have_value("VARF3")
    expect(page.locator("#persona")).to_have_value("y" * 1000)
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")

    page.select_option("#theme", "system")  # follows the system, also when it changes
    for scheme in ("dark", "light"):
        page.emulate_media(color_scheme=scheme)
        expect(page.locator("html")).to_have_attribute("data-scheme", scheme)


def test_a_pause_in_the_text_starts_a_new_bubble(page: Page) -> None:
    # Words three seconds apart: each pause is longer than a turn break.
    with running_app("--text-interval-ms", "3000") as app:
        start(page, app.url)
        wait_live(page, app)
        bubbles = page.locator("#transcript .bubble")
        expect(bubbles).to_have_count(3, timeout=15_000)
        expect(bubbles.nth(0).locator("p")).to_have_text("[loopback")
        expect(bubbles.nth(1).locator("p")).to_have_text("backend]")
