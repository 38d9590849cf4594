"""The frontend's OTLP export: what it sends, and that a hung collector costs sessions nothing."""

from __future__ import annotations

import asyncio
import logging
import statistics
import threading
import time

import pytest

from scenario6.backend.loopback import LoopbackSettings
from scenario6.frontend.telemetry.otel import SHUTDOWN_THREAD
from tests.support.audio import encode_messages, sweep
from tests.support.client import Conversation, conversation
from tests.support.servers import RunningFrontend, frontend_server, loopback_server
from tests.support.waiting import until

from .collectors import hanging_collector, recording_collector

SESSION_METRICS = {
    "scenario6.sessions.active",
    "scenario6.queue.length",
    "scenario6.session.duration",
    "scenario6.session.bytes",
    "scenario6.backend.handshake.duration",
}


def _export_to(monkeypatch: pytest.MonkeyPatch, endpoint: str, timeout_s: int = 10) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "scenario6-frontend-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", str(timeout_s))


async def _talk(frontend: RunningFrontend) -> tuple[Conversation, list[float]]:
    """A short conversation; returns it and the round-trip time of each echoed message."""
    async with conversation(frontend.chat_url()) as talk:
        await talk.wait_for(talk.handshake.is_set)
        delays: list[float] = []
        for message in encode_messages(sweep(1.0)):
            before = len(talk.decoder.pcm)
            sent = time.monotonic()
            await talk.ws.send(message)
            await talk.wait_for(lambda b=before: len(talk.decoder.pcm) > b)  # type: ignore[misc]
            delays.append(time.monotonic() - sent)
    return talk, delays


async def test_sessions_are_traced_and_measured(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scenario6")
    with recording_collector() as (endpoint, received):
        _export_to(monkeypatch, endpoint)
        async with (
            loopback_server(LoopbackSettings(prompt_ms=200, delay_ms=0)) as lb,
            frontend_server(moshi_ws_url=lb.url) as fe,
        ):
            talk, _ = await _talk(fe)
            # The proxy notices the close, ends the session's span, then logs the end.
            await until(lambda: "ended after" in caplog.text, "the session's end")
        # Leaving frontend_server shut the app down, which flushed both exporters.
        session = received.span("scenario6.session")
        assert session["scenario6.backend.kind"] == "loopback"
        assert session["scenario6.backend.url"] == lb.url
        assert int(session["scenario6.bytes.in"]) > 0  # type: ignore[call-overload]
        assert int(session["scenario6.bytes.out"]) > 0  # type: ignore[call-overload]
        assert any("/api/chat" in span.name for span in received.spans), "FastAPI server span"
        assert received.services == {"scenario6-frontend-test"}
        assert received.metrics >= SESSION_METRICS, received.metrics
        assert talk.close_code == 1000
        assert any(line.startswith("session ") and "ended after" in line for line in received.logs)


async def test_a_hung_collector_does_not_slow_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    async with (
        loopback_server(LoopbackSettings(prompt_ms=200, delay_ms=0)) as lb,
        frontend_server(moshi_ws_url=lb.url) as plain,
    ):
        _, baseline = await _talk(plain)
    with hanging_collector() as (endpoint, collector):
        _export_to(monkeypatch, endpoint, timeout_s=60)
        started = time.monotonic()
        async with (
            loopback_server(LoopbackSettings(prompt_ms=200, delay_ms=0)) as lb,
            frontend_server(moshi_ws_url=lb.url) as fe,
        ):
            _, first = await _talk(fe)
            # Exports fall due and hang on the collector.
            await until(lambda: collector.connections >= 1, "the exporter to try the collector")
            _, second = await _talk(fe)
            stopping = time.monotonic()
        stopped_in = time.monotonic() - stopping
    # With the collector gone the exporters give up; leave no thread behind for later tests.
    for thread in threading.enumerate():
        if thread.name == SHUTDOWN_THREAD:
            await asyncio.to_thread(thread.join, 30)
            assert not thread.is_alive(), "the exporters never gave up"
    observed = first + second
    print(
        f"echo round trip, median: {statistics.median(baseline) * 1000:.1f} ms without "
        f"telemetry, {statistics.median(observed) * 1000:.1f} ms with a hung collector; "
        f"shutdown {stopped_in:.2f} s; total {time.monotonic() - started:.1f} s"
    )
    # Generous bounds that only catch a blocked event loop (the export timeout is 60 s).
    assert max(observed) < 5, max(observed)
    assert stopped_in < 10, stopped_in
