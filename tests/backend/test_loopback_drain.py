"""The loopback backend, a process of its own, drains on SIGTERM as the batched server does:
new conversations get 503, live ones go on until they end or the drain timeout, then it
exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from scenario6.bench.harness import HOST, ChildServer, free_port, loopback_backend
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation

AUDIO = encode_messages(sweep(0.8))
# Generous bounds that only catch hangs.
SIGNAL_SEEN_S = 30
EXIT_S = 60


@contextlib.contextmanager
def _loopback(*arguments: str) -> Iterator[tuple[ChildServer, str]]:
    """A loopback backend process; yields it and its session URL."""
    port = free_port()
    args = ["--host", HOST, "--port", str(port), "--prompt-ms", "100", "--delay-ms", "0"]
    with loopback_backend([*args, *arguments]) as server:
        server.wait_healthy(f"http://{HOST}:{port}/health")
        yield server, f"ws://{HOST}:{port}/api/chat?voice_prompt=NATF2.pt&text_prompt=Hi"


async def _draining(server: ChildServer) -> None:
    deadline = time.monotonic() + SIGNAL_SEEN_S
    while "draining" not in server.output():
        assert time.monotonic() < deadline, server.output()[-2000:]
        await asyncio.sleep(0.1)


async def test_sigterm_refuses_new_conversations_and_lets_the_live_one_finish() -> None:
    with _loopback() as (server, url):
        async with conversation(url) as live:
            await live.wait_for(live.handshake.is_set)
            server.popen.send_signal(signal.SIGTERM)
            await _draining(server)
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url):
                    pass
            assert refused.value.response.status_code == 503
            assert int(refused.value.response.headers["Retry-After"]) >= 1
            assert await live.echoed(AUDIO)  # still echoed
            assert server.popen.poll() is None
        assert live.close_code == 1000  # ended as the client chose
        assert await asyncio.to_thread(server.popen.wait, EXIT_S) == 0


async def test_a_conversation_still_live_at_the_drain_timeout_is_closed_with_1001() -> None:
    with _loopback("--drain-timeout-s", "1") as (server, url):
        async with conversation(url) as live:
            await live.wait_for(live.handshake.is_set)
            server.popen.send_signal(signal.SIGTERM)
            await live.wait_for(live.closed.is_set, EXIT_S)
        assert (live.close_code, live.close_reason) == (1001, "server shutting down")
        assert await asyncio.to_thread(server.popen.wait, EXIT_S) == 0


async def test_a_connection_waiting_for_its_turn_is_sent_away_rather_than_begun() -> None:
    """The loopback serves one conversation at a time; one that waits for its turn when the
    drain begins is closed with 1001 at once (its client reconnects elsewhere) instead of
    beginning here once the live one ends."""
    with _loopback("--drain-timeout-s", "60") as (server, url):
        async with conversation(url) as live, conversation(url) as waiting:
            await live.wait_for(live.handshake.is_set)
            server.popen.send_signal(signal.SIGTERM)
            await waiting.wait_for(waiting.closed.is_set, SIGNAL_SEEN_S)
            assert (waiting.close_code, waiting.close_reason) == (1001, "server shutting down")
            assert not waiting.handshake.is_set()
            assert await live.echoed(AUDIO)  # the live one goes on
        assert await asyncio.to_thread(server.popen.wait, EXIT_S) == 0
