"""One load-test session: what a client does (connect, wait in the queue, talk at real time,
hang up) and what it saw, timed by the clock."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from scenario6.protocol.messages import FRAME_S, Kind
from scenario6.protocol.ogg import OggError
from scenario6.protocol.opus import Counter, audio_seconds

# A received frame covers a sent one when the audio back reaches its end (float sums drift).
_EPSILON_S = 0.001


@dataclass
class Call:
    """What one session saw; times in milliseconds. ``failure`` is ``None`` for a session
    that ran its whole duration, else the close code (``"1011"``), ``"http 403"``, ..."""

    started_s: float = 0.0  # after the run's start
    handshake_ms: float | None = None  # from opening the connection, queue included
    queue_wait_ms: float = 0.0  # from the first "queued" event to the "backend" event
    queued_at: int | None = None  # the first queue position, if it queued
    backend: str | None = None
    answer_ms: list[float] = field(default_factory=list)
    longest_gap_ms: float | None = None
    frames_sent: int = 0
    audio_received_s: float = 0.0
    failure: str | None = None
    reason: str = ""


@dataclass
class _Stream:
    """The audio coming back: arrival times, and which sent frames it has answered."""

    sent: list[tuple[float, float]] = field(default_factory=list)  # (sent at, audio end)
    answered: int = 0
    received_s: float = 0.0
    last_at: float | None = None
    counter: Counter = field(default_factory=Counter)

    def arrived(self, message: bytes, call: Call) -> None:
        now = time.monotonic()
        if self.last_at is not None:
            gap = (now - self.last_at) * 1000
            call.longest_gap_ms = max(call.longest_gap_ms or 0.0, gap)
        self.last_at = now
        with contextlib.suppress(OggError):
            self.received_s += self.counter.count(message, 1)
        while (
            self.answered < len(self.sent)
            and self.received_s + _EPSILON_S >= self.sent[self.answered][1]
        ):
            call.answer_ms.append((now - self.sent[self.answered][0]) * 1000)
            self.answered += 1


async def place(
    url: str,
    headers: dict[str, str],
    messages: list[bytes],
    duration_s: float,
    wait_s: float,
    started_s: float,
) -> Call:
    """Run one session: at most ``wait_s`` to the handshake, then ``duration_s`` of audio."""
    call = Call(started_s=round(started_s, 3))
    opened = time.monotonic()
    try:
        async with connect(
            url, additional_headers=headers, compression=None, max_queue=None, open_timeout=wait_s
        ) as ws:
            try:
                await asyncio.wait_for(_until_handshake(ws, call, opened), wait_s)
            except TimeoutError:
                call.failure, call.reason = "no handshake", f"none within {wait_s:g} s"
                return call
            await _talk(ws, call, messages, duration_s)
    except InvalidStatus as exc:
        call.failure = f"http {exc.response.status_code}"
        call.reason = exc.response.body.decode(errors="replace")[:200] if exc.response.body else ""
    except ConnectionClosed as exc:
        _closed(call, exc)
    except (OSError, TimeoutError) as exc:
        call.failure, call.reason = "connect", f"{type(exc).__name__}: {exc}"[:200]
    return call


def _closed(call: Call, exc: ConnectionClosed) -> None:
    received = exc.rcvd
    call.failure = str(received.code) if received else "no close frame"
    call.reason = received.reason if received else ""


async def _until_handshake(ws: ClientConnection, call: Call, opened: float) -> None:
    queued = None
    while True:
        message = await ws.recv()
        if isinstance(message, str):
            event = json.loads(message)
            if event.get("type") == "queued" and queued is None:
                queued, call.queued_at = time.monotonic(), int(event.get("position", 0))
            elif event.get("type") == "backend":
                call.backend = str(event.get("url"))
                if queued is not None:
                    call.queue_wait_ms = (time.monotonic() - queued) * 1000
        elif message[:1] == bytes([Kind.HANDSHAKE]):
            call.handshake_ms = (time.monotonic() - opened) * 1000
            return


async def _talk(ws: ClientConnection, call: Call, messages: list[bytes], duration_s: float) -> None:
    stream = _Stream()
    reader = asyncio.create_task(_listen(ws, stream, call))
    # The stream's header pages once, then its audio round and round.
    script = itertools.chain(messages[:1], itertools.cycle(messages[1:] or messages))
    audio_end = 0.0
    next_send = time.monotonic()
    stop = next_send + duration_s
    try:
        for message in script:
            if time.monotonic() >= stop or reader.done():
                break
            seconds = audio_seconds(message, 1)
            if seconds:
                audio_end += seconds
                stream.sent.append((time.monotonic(), audio_end))
            await ws.send(message)
            call.frames_sent += 1
            next_send += seconds or FRAME_S
            await asyncio.sleep(max(0.0, next_send - time.monotonic()))
        if reader.done():
            reader.result()  # an abnormal close raises here, with its code
            # The server hung up early, with a normal code: still a failure of the session.
            call.failure, call.reason = str(ws.close_code), ws.close_reason or ""
            return
        await ws.close()
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            await reader
        call.audio_received_s = round(stream.received_s, 3)


async def _listen(ws: ClientConnection, stream: _Stream, call: Call) -> None:
    async for message in ws:
        if isinstance(message, bytes) and message[:1] == bytes([Kind.AUDIO]):
            stream.arrived(message, call)
