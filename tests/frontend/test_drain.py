"""A frontend sent SIGTERM drains: live conversations go on, everyone else is sent elsewhere.

The frontend is ``scenario6 frontend`` in a process of its own (what the image runs), in front
of a real loopback backend; the signal is the one Docker and Kubernetes send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from scenario6.frontend.proxy import closes
from tests.support.audio import encode_messages, sweep
from tests.support.client import Conversation, conversation
from tests.support.proxies import load_balancer
from tests.support.servers import HOST, ChildServer, frontend_process, loopback_server
from tests.support.waiting import until

AUDIO = encode_messages(sweep(0.8))


def _chat_url(port: int) -> str:
    return f"ws://{HOST}:{port}/api/chat?voice_prompt=NATF2.pt&text_prompt=Hi&events=1"


def _probe(port: int, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


@contextlib.asynccontextmanager
async def _conversation_on_a_frontend(
    drain_timeout_s: float,
) -> AsyncIterator[tuple[ChildServer, int, Conversation]]:
    """A frontend process with a live conversation through it, to a loopback backend."""
    async with loopback_server() as backend:
        env = {"MOSHI_WS_URL": backend.url, "DRAIN_TIMEOUT_S": str(drain_timeout_s)}
        with frontend_process(env) as (frontend, port):
            async with conversation(_chat_url(port)) as live:
                await live.wait_for(live.handshake.is_set)
                yield frontend, port, live


async def test_sigterm_lets_the_live_conversation_finish_and_sends_the_others_away() -> None:
    async with _conversation_on_a_frontend(60) as (frontend, port, live):
        assert await live.echoed(AUDIO)
        async with conversation(_chat_url(port)) as queued:
            await queued.wait_for(lambda: queued.events_of("queued"))
            frontend.popen.send_signal(signal.SIGTERM)
            # Waiting clients are told to reconnect: a load balancer picks another replica.
            await queued.wait_for(queued.closed.is_set)
            assert queued.close_code == closes.RESTARTING, queued.close_reason
        status, ready = await asyncio.to_thread(_probe, port, "/ready")
        assert (status, ready["status"]) == (503, "draining")
        status, health = await asyncio.to_thread(_probe, port, "/health")
        assert (status, health["status"]) == (200, "draining")
        # The conversation in progress is not cut: it goes on, answered as before.
        assert await live.echoed(AUDIO)
        assert frontend.popen.poll() is None
        # It ends as its client wants; then the frontend exits, cleanly.
        await live.ws.close()
        await until(lambda: frontend.popen.poll() is not None, "the frontend to exit", 15)
        assert frontend.popen.returncode == 0, frontend.output()[-2000:]
        assert live.close_code == closes.NORMAL


async def test_a_new_session_is_refused_with_503_before_its_upgrade_while_draining() -> None:
    """Refused before the upgrade, a session can be retried on another replica by a load
    balancer (accepted first, it could only be closed)."""
    async with _conversation_on_a_frontend(60) as (frontend, port, live):
        frontend.popen.send_signal(signal.SIGTERM)
        await until(lambda: _probe(port, "/ready")[0] == 503, "the frontend to drain")
        with pytest.raises(InvalidStatus) as refused:
            async with conversation(_chat_url(port)):
                pass
        response = refused.value.response
        assert response.status_code == 503
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert b"reconnect to reach another" in response.body
        assert await live.echoed(AUDIO)  # the conversation in progress goes on
        # A refusal on purpose is no error: an operator's alerts stay quiet through a drain.
        errors = [line for line in frontend.output().splitlines() if line.startswith("ERROR")]
        assert not errors, errors


async def test_behind_the_published_balancer_new_sessions_skip_a_draining_replica(
    tmp_path: Path,
) -> None:
    """nginx as ``publish --frontends N`` configures it passes a refused upgrade on to the
    other replica: no new session is lost to the one draining."""
    async with (
        _conversation_on_a_frontend(60) as (frontend, port, live),
        loopback_server() as other_backend,
    ):
        with (
            frontend_process({"MOSHI_WS_URL": other_backend.url}) as (_, other_port),
            load_balancer(tmp_path, [port, other_port]) as balancer_port,
        ):
            frontend.popen.send_signal(signal.SIGTERM)
            await until(lambda: _probe(port, "/ready")[0] == 503, "the frontend to drain")
            for _ in range(4):  # nginx takes turns: half of them reach the draining one first
                async with conversation(_chat_url(balancer_port)) as talk:
                    await talk.wait_for(lambda: talk.handshake.is_set() or talk.closed.is_set())
                    assert talk.handshake.is_set(), (talk.close_code, talk.close_reason)
            assert await live.echoed(AUDIO)


async def test_a_conversation_still_live_at_the_drain_timeout_is_closed_with_a_reason() -> None:
    async with _conversation_on_a_frontend(1) as (frontend, _, live):
        frontend.popen.send_signal(signal.SIGTERM)
        await live.wait_for(live.closed.is_set, timeout=15)
        assert live.close_code == closes.GOING_AWAY
        assert "drain time" in (live.close_reason or "")
        assert live.events_of("error")[-1]["code"] == closes.GOING_AWAY
        await until(lambda: frontend.popen.poll() is not None, "the frontend to exit", 15)
        assert frontend.popen.returncode == 0, frontend.output()[-2000:]
