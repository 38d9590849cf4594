"""``scenario6 bench browser``: the web client's audio latency, measured in headless Chromium.

The page runs against the frontend with the loopback backend behind it (zero echo delay);
Chromium's fake microphone plays a synthetic voice-like signal. The client itself takes
every figure where the audio passes (see ``static/js/latency.js``):

- mic → wire: a 20 ms microphone frame is complete → its Ogg page is handed to the socket;
- wire → speaker: an audio message arrives → its first sample reaches the speaker;
- round trip: a sound at the microphone → its echo at the speaker, by lining up the two
  sounds' envelopes on the AudioContext clock. It includes the loopback backend's own
  80 ms framing (it re-encodes whole model-sized frames, as the real model steps).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .harness import HOST, ChildServer, free_port, loopback_backend

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
TARGET_ROUND_TRIP_MS = 200.0
FIGURES = ("micToWire", "wireToSpeaker", "roundTrip")
LABELS = {
    "micToWire": "mic → wire",
    "wireToSpeaker": "wire → speaker",
    "roundTrip": "round trip (echo)",
}


def chromium_args(fake_microphone: Path) -> list[str]:
    """Flags for a headless Chromium whose microphone plays ``fake_microphone`` in a loop."""
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={fake_microphone}",
        "--autoplay-policy=no-user-gesture-required",
    ]


def launch_chromium(playwright: Playwright, fake_microphone: Path) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=chromium_args(fake_microphone))


def voice_like_wav(path: Path, seconds: float = 6.0, rate: int = 48000) -> Path:
    """Syllable-like harmonic bursts with pauses: it survives noise suppression and Opus."""
    rng = np.random.default_rng(6)
    signal = np.zeros(int(seconds * rate), dtype=np.float32)
    position = int(0.3 * rate)
    while position < len(signal):
        length = int(rate * rng.uniform(0.08, 0.3))
        t = np.arange(length) / rate
        f0 = rng.uniform(110, 230)
        burst = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        envelope = np.sin(np.pi * np.arange(length) / length) ** 0.5
        end = min(len(signal), position + length)
        signal[position:end] = (rng.uniform(0.1, 0.3) * envelope * burst)[: end - position]
        position = end + int(rate * rng.uniform(0.05, 0.35))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def diagnostics(page: Page) -> dict[str, Any]:
    """The client's own counters and latency samples (``window.scenario6``)."""
    result: dict[str, Any] = page.evaluate(
        """() => ({
          state: scenario6.state,
          sampleRate: scenario6.sampleRate,
          sentAudioMessages: scenario6.sentAudioMessages,
          receivedAudioMessages: scenario6.receivedAudioMessages,
          playedSamples: scenario6.playedSamples,
          textPieces: scenario6.textPieces,
          player: scenario6.player,
          latency: scenario6.latency.samples,
          totals: scenario6.latency.totals,
          outputLatencyMs: scenario6.outputLatencyMs,
          baseLatencyMs: scenario6.baseLatencyMs,
        })"""
    )
    return result


def summarize(values: list[float]) -> dict[str, float | int] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "min_ms": round(ordered[0], 1),
        "median_ms": round(float(np.median(ordered)), 1),
        "max_ms": round(ordered[-1], 1),
    }


def measure(seconds: float, warm_up: float = 3.0) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="scenario6-bench-") as tmp:
        wav = voice_like_wav(Path(tmp) / "voice48k.wav")
        backend_port, frontend_port = free_port(), free_port()
        loopback = ["--host", HOST, "--port", str(backend_port), "--delay-ms", "0"]
        with loopback_backend([*loopback, "--prompt-ms", "300"]) as backend:
            backend.wait_healthy(f"http://{HOST}:{backend_port}/health")
            env = {"MOSHI_WS_URL": f"ws://{HOST}:{backend_port}"}
            frontend_args = ["frontend", "--host", HOST, "--port", str(frontend_port)]
            with ChildServer(frontend_args, env=env) as frontend:
                frontend.wait_healthy(f"http://{HOST}:{frontend_port}/health")
                with sync_playwright() as playwright:
                    browser = launch_chromium(playwright, wav)
                    try:
                        page = browser.new_page()
                        page.goto(f"http://{HOST}:{frontend_port}/")
                        page.wait_for_selector("#toggle:not([disabled])")
                        page.click("#toggle")
                        page.wait_for_function("scenario6.state === 'live'", timeout=30_000)
                        time.sleep(warm_up)
                        before = diagnostics(page)
                        time.sleep(seconds)
                        after = diagnostics(page)
                    finally:
                        browser.close()
    figures = {}
    for name in FIGURES:
        # Only what was measured after the warm-up.
        new = after["totals"][name] - before["totals"][name]
        figures[name] = summarize(after["latency"][name][-new:] if new else [])
    player = after["player"] or {}
    round_trip = figures["roundTrip"]
    return {
        "benchmark": "browser",
        "seconds": seconds,
        "audio_clock_hz": after["sampleRate"],
        "output_latency_ms": round(after["outputLatencyMs"], 1),
        "base_latency_ms": round(after["baseLatencyMs"], 1),
        "figures": figures,
        "played_seconds": round(after["playedSamples"] / (after["sampleRate"] or 1), 2),
        "audio_messages": {
            "sent": after["sentAudioMessages"],
            "received": after["receivedAudioMessages"],
        },
        "jitter_buffer": {
            "underruns": player.get("underruns"),
            "dropped_samples": player.get("dropped"),
            "target_ms": round(player.get("targetMs") or 0),
        },
        "target_round_trip_ms": TARGET_ROUND_TRIP_MS,
        "round_trip_within_target": bool(
            round_trip and round_trip["median_ms"] <= TARGET_ROUND_TRIP_MS
        ),
    }


def run(args: argparse.Namespace) -> int:
    seconds = float(getattr(args, "seconds", None) or 15)
    if not Path(CHROMIUM).exists():
        print(f"bench browser: {CHROMIUM} not found (apt-get install chromium)")
        return 1
    if not args.json:
        print(f"browser benchmark: headless Chromium, loopback backend, {seconds:g} s", flush=True)
    result = measure(seconds)
    if args.json:
        print(json.dumps(result))
        return 0
    for name in FIGURES:
        figure = result["figures"][name]
        if figure is None:
            print(f"  {LABELS[name]:18} no samples")
            continue
        print(
            f"  {LABELS[name]:18} min {figure['min_ms']:6.1f}  median {figure['median_ms']:6.1f}"
            f"  max {figure['max_ms']:6.1f} ms  ({figure['count']} samples)"
        )
    jitter = result["jitter_buffer"]
    print(
        f"  audio clock {result['audio_clock_hz']} Hz, played {result['played_seconds']} s, "
        f"underruns {jitter['underruns']}, dropped {jitter['dropped_samples']} samples, "
        f"buffer target {jitter['target_ms']} ms"
    )
    verdict = "within" if result["round_trip_within_target"] else "above"
    print(f"  round trip median is {verdict} the {TARGET_ROUND_TRIP_MS:g} ms target")
    return 0
