"""Prometheus metrics: what the frontend and the loopback backend count, read as a scraper would."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import generate_latest

from scenario6.backend.loopback import LoopbackSettings
from scenario6.bench.harness import HOST, free_port
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.scrape import samples, scrape, value
from tests.support.servers import frontend_server, loopback_server


async def test_a_conversation_is_counted_by_the_frontend_and_the_backend() -> None:
    metrics_port = free_port()
    async with (
        loopback_server(LoopbackSettings(prompt_ms=200, delay_ms=0)) as lb,
        frontend_server(moshi_ws_url=lb.url, metrics_port=metrics_port) as frontend,
    ):
        async with conversation(frontend.chat_url()) as talk:
            await talk.wait_for(talk.handshake.is_set)
            during = await scrape(metrics_port)
            await talk.send_audio(encode_messages(sweep(0.8)), cadence_s=0.02)
            await talk.wait_for(lambda: len(talk.decoder.pcm) > 0)
        await asyncio.sleep(0.3)  # the session ends on the server after the client closes
        after = await scrape(metrics_port)
        backend = samples(generate_latest(lb.backend.metrics.registry).decode())

    assert value(during, "scenario6_frontend_sessions_live") == 1
    assert value(during, "scenario6_frontend_backend_active", backend=lb.url, kind="loopback") == 1
    assert value(after, "scenario6_frontend_sessions_live") == 0
    assert value(after, "scenario6_frontend_sessions_queued") == 0
    assert value(after, "scenario6_frontend_backend_slots", backend=lb.url, kind="loopback") == 1
    assert (
        value(after, "scenario6_frontend_sessions_total", outcome="client_left", code="none") == 1
    )
    assert value(after, "scenario6_frontend_queue_wait_seconds_count") == 1
    assert value(after, "scenario6_frontend_handshake_seconds_count", kind="loopback") == 1
    assert value(after, "scenario6_frontend_handshake_seconds_sum", kind="loopback") >= 0.2
    assert value(after, "scenario6_frontend_first_audio_seconds_count") == 1
    assert value(after, "scenario6_frontend_relayed_bytes_total", direction="client_to_backend") > 0
    assert value(after, "scenario6_frontend_relayed_bytes_total", direction="backend_to_client") > 0

    assert value(backend, "scenario6_backend_prompt_seconds_count") == 1
    assert value(backend, "scenario6_backend_prompt_seconds_sum") >= 0.2
    assert value(backend, "scenario6_backend_tick_seconds_count") > 0
    assert value(backend, "scenario6_backend_slots", state="free") == 1
    assert value(backend, "scenario6_backend_slots", state="used") == 0
    assert ("scenario6_backend_frames_late_total", ()) in backend


async def test_a_backend_that_cannot_be_reached_is_counted_against_it() -> None:
    metrics_port = free_port()
    dead = f"ws://{HOST}:{free_port()}/api/chat"
    async with frontend_server(moshi_ws_url=dead, metrics_port=metrics_port) as frontend:
        async with conversation(frontend.chat_url()) as talk:
            await talk.wait_for(talk.closed.is_set)
        found = await scrape(metrics_port)
    assert value(found, "scenario6_frontend_backend_errors_total", backend=dead) == 1
    assert value(found, "scenario6_frontend_sessions_total", outcome="failed", code="4502") == 1


async def test_the_metrics_port_is_outside_the_access_gate() -> None:
    metrics_port = free_port()
    async with (
        loopback_server() as lb,
        frontend_server(
            moshi_ws_url=lb.url,
            metrics_port=metrics_port,
            access_codes="correct-horse-battery",
            access_secret="s" * 40,
            server_names=("chat.example",),
        ) as frontend,
        httpx.AsyncClient() as client,
    ):
        refused = await client.get(f"{frontend.http}/api/config")
        found = await scrape(metrics_port)
    assert refused.status_code in (400, 401, 403, 421)
    assert value(found, "scenario6_frontend_sessions_queued") == 0


async def test_metrics_are_off_unless_a_port_is_set() -> None:
    async with loopback_server() as lb, frontend_server(moshi_ws_url=lb.url) as frontend:
        assert frontend.app_settings.metrics_port == 0
        async with httpx.AsyncClient() as client:
            page = await client.get(f"{frontend.http}/metrics")
    assert page.status_code == 404
