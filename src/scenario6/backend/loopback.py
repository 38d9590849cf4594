"""The loopback backend: speaks PersonaPlex's protocol and echoes your voice back.

It is a development tool and a test double for the GPU model server, never the model: it
says so in its logs, its health answer, an upgrade header and the text it sends. Like
upstream it serves ``GET /api/chat`` with ``voice_prompt`` and ``text_prompt``, sends the
``0x00`` handshake after a (simulated) prompt phase, serves one conversation at a time (or,
with ``slots``, that many, advertised as a batched backend advertises them), and carries
real Ogg Opus both ways: the client's audio is decoded and encoded again. Where a
client could tell, it behaves as PersonaPlex does: what arrives during the prompt phase is
read and discarded (one message per prompt step), output is clocked by input (a client
that sends nothing gets nothing), and audio whose stream header was lost ends the session
with close 1000. docs/protocol.md lists the differences it keeps on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import sphn
from aiohttp import WSMsgType, web

from scenario6.facts.slots import SLOTS_HEADER
from scenario6.protocol import messages
from scenario6.protocol.limits import BACKLOG_CLOSE, BACKLOG_REASON, MAX_BACKLOG_S
from scenario6.protocol.messages import (
    CHAT_PATH,
    FRAME_S,
    FRAME_SAMPLES,
    KIND_HEADER,
    LOOPBACK_KIND,
    SAMPLE_RATE,
    Kind,
)
from scenario6.protocol.ogg import OggError, parse_pages
from scenario6.protocol.voices import voice_name

from .metrics import BackendMetrics
from .recording import SessionLog, SessionRecord

log = logging.getLogger("scenario6.loopback")


@dataclass(frozen=True)
class LoopbackSettings:
    """How the loopback backend behaves; the defaults resemble a real session.

    >>> LoopbackSettings(prompt_ms=0).own_prompts
    False
    >>> LoopbackSettings(slots=4).own_prompts
    True
    """

    prompt_ms: int = 1500  # the prompt phase before the handshake
    delay_ms: int = 200  # echo delay
    concurrent: bool = False  # upstream serves one conversation at a time
    # Holds this many conversations at once, each with its own prompts, and advertises the
    # number in its upgrade response; more connections wait, as upstream's second one does.
    slots: int | None = None
    text_interval_ms: int = 1000  # of client audio: text too is clocked by input
    max_message_bytes: int = 1 << 20
    # Benchmarks turn this off to echo audio messages untouched, so that the codec's cost
    # does not hide the proxy's.
    transcode: bool = True
    # Audio received and not yet echoed, past which the conversation is closed, as the batched
    # server closes one: a client sending faster than real time must not pile it up here.
    max_backlog_s: float = MAX_BACKLOG_S

    def __post_init__(self) -> None:
        if self.slots is not None and self.slots < 1:
            raise ValueError(f"slots must be at least 1, not {self.slots}")

    @property
    def own_prompts(self) -> bool:
        """Whether each connection keeps its own prompts (upstream shares one pair)."""
        return self.concurrent or self.slots is not None


class _SharedPrompts:
    """Upstream stores a connection's prompts before taking its session lock; so do we.

    Reproducing that defect is what lets tests prove the proxy never opens a second
    session on a busy backend: if it did, the first conversation's text would change.
    """

    voice = ""
    persona = ""


class LoopbackBackend:
    def __init__(self, settings: LoopbackSettings) -> None:
        self.settings = settings
        self.sessions = SessionLog()
        # One session at a time, like upstream's lock; ``slots`` at a time when set.
        self._lock = asyncio.Semaphore(settings.slots or 1)
        self._shared = _SharedPrompts()
        self._serving = 0  # conversations past the lock
        self.metrics = BackendMetrics(lambda: (self._serving, settings.slots or 1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.home)
        app.router.add_get(CHAT_PATH, self.chat)
        app.router.add_get("/health", self.health)
        app.router.add_get("/api/sessions", self.list_sessions)
        app.router.add_get("/api/sessions/{id}/input.wav", self.session_audio)
        return app

    async def home(self, _: web.Request) -> web.Response:
        # What someone who opens the backend's address (the run dashboard links it) learns.
        return web.Response(
            text=f"The loopback backend: a stand-in for PersonaPlex that echoes what it hears.\n"
            f"Conversations: WebSocket {CHAT_PATH}; health: /health; sessions: /api/sessions\n"
        )

    async def health(self, _: web.Request) -> web.Response:
        busy = self._lock.locked()
        return web.json_response({"status": "ok", "backend": LOOPBACK_KIND, "busy": busy})

    async def list_sessions(self, _: web.Request) -> web.Response:
        return web.json_response([r.summary() for r in self.sessions])

    async def session_audio(self, request: web.Request) -> web.Response:
        record = self.sessions.find(request.match_info["id"])
        if record is None or record.audio is None:
            raise web.HTTPNotFound(text="no recorded audio for that session\n")
        return web.Response(body=record.wav(), content_type="audio/wav")

    async def chat(self, request: web.Request) -> web.StreamResponse:
        voice_file = request.query.get("voice_prompt", "").strip()
        voice = voice_name(voice_file)
        persona = request.query.get("text_prompt", "").strip()
        if voice is None or not voice_file.endswith(".pt"):
            raise web.HTTPBadRequest(text="voice_prompt must name a voice file, e.g. NATF2.pt\n")
        if not persona:
            raise web.HTTPBadRequest(text="text_prompt must not be empty\n")
        if "seed" in request.query:
            raise web.HTTPBadRequest(text="seed crashes PersonaPlex's session handler\n")
        record = self.sessions.start(dict(request.query))
        if not self.settings.own_prompts:
            self._shared.voice, self._shared.persona = voice, persona
        ws = web.WebSocketResponse(
            max_msg_size=self.settings.max_message_bytes,
            compress=False,
            autoping=True,
        )
        ws.headers[KIND_HEADER] = LOOPBACK_KIND
        if self.settings.slots is not None:
            ws.headers[SLOTS_HEADER] = str(self.settings.slots)
        await ws.prepare(request)
        log.info("loopback session %d opened (voice %s)", record.id, voice)
        lock: contextlib.AbstractAsyncContextManager[object] = (
            contextlib.nullcontext()
            if self.settings.concurrent and self.settings.slots is None
            else self._lock
        )
        try:
            async with lock:
                self._serving += 1
                try:
                    started = time.monotonic()
                    if ws.closed or not await self._prompt_phase(ws, record):
                        return ws
                    self.metrics.prompt.observe(time.monotonic() - started)
                    await ws.send_bytes(messages.HANDSHAKE)
                    prompts = self._prompts(voice, persona)
                    await _Conversation(ws, record, self.settings, prompts, self.metrics).run()
                finally:
                    self._serving -= 1
        finally:
            record.active = False
            log.info("loopback session %d closed: %s", record.id, record.summary()["messages"])
        return ws

    async def _prompt_phase(self, ws: web.WebSocketResponse, record: SessionRecord) -> bool:
        """Steps through the prompts at the model's frame rate; False if the client left.

        Like upstream, each step checks the connection by reading one message, which is
        discarded: audio sent this early never reaches the decoder.
        """
        deadline = time.monotonic() + self.settings.prompt_ms / 1000
        while (left := deadline - time.monotonic()) > 0:
            step = min(FRAME_S, left)
            try:
                message = await ws.receive(timeout=step)
            except asyncio.TimeoutError:  # the builtin TimeoutError from Python 3.11 on
                continue
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return False
            record.count_discarded()
            await asyncio.sleep(max(0.0, step - 0.01))
        return True

    def _prompts(self, voice: str, persona: str) -> _SharedPrompts:
        if not self.settings.own_prompts:
            return self._shared
        own = _SharedPrompts()
        own.voice, own.persona = voice, persona
        return own


class _Conversation:
    """Echo audio and narrate, until the client leaves."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        record: SessionRecord,
        settings: LoopbackSettings,
        prompts: _SharedPrompts,
        metrics: BackendMetrics,
    ) -> None:
        self._ws = ws
        self._metrics = metrics
        self._record = record
        self._settings = settings
        self._prompts = prompts
        self._reader = sphn.OpusStreamReader(SAMPLE_RATE)
        self._writer = sphn.OpusStreamWriter(SAMPLE_RATE)
        self._pending = np.zeros(0, dtype=np.float32)
        self._due: deque[tuple[float, np.ndarray]] = deque()
        self._wake = asyncio.Event()
        self._header_seen = False
        self._frames = 0
        self._words = self._narration()

    async def run(self) -> None:
        echo = asyncio.create_task(self._echo())
        try:
            await self._receive()
        finally:
            echo.cancel()
            await asyncio.gather(echo, return_exceptions=True)

    async def _receive(self) -> None:
        async for message in self._ws:
            if message.type != WSMsgType.BINARY or not message.data:
                self._record.count_other()
                continue
            data: bytes = message.data
            if data[0] != Kind.AUDIO:
                self._record.count_other()  # upstream ignores other kinds too
                continue
            self._record.count_audio()
            if not self._settings.transcode:
                if self._settings.delay_ms:
                    await asyncio.sleep(self._settings.delay_ms / 1000)
                await self._ws.send_bytes(data)
                self._record.count_output()
                continue
            pages = data[1:]
            try:
                parsed = parse_pages(pages)
            except OggError:
                self._record.count_ogg_error()
                continue
            self._header_seen = self._header_seen or any(p.is_opus_head for p in parsed)
            if not self._header_seen:
                # Upstream's decoder never starts without OpusHead and its session loop
                # dies on the first read: the connection closes normally, with no audio.
                log.warning("loopback session %d: audio without a stream header", self._record.id)
                await self._ws.close()
                return
            try:
                pcm = self._reader.append_bytes(pages)
            except (ValueError, RuntimeError):
                self._record.count_ogg_error()
                continue
            if len(pcm):
                self._record.add_audio(pcm)
                self._pending = np.concatenate([self._pending, pcm])
                due = time.monotonic() + self._settings.delay_ms / 1000
                while len(self._pending) >= FRAME_SAMPLES:
                    self._due.append((due, self._pending[:FRAME_SAMPLES]))
                    self._pending = self._pending[FRAME_SAMPLES:]
                    await self._step()
                self._wake.set()
                if len(self._due) * FRAME_S > self._settings.max_backlog_s:
                    await self._overflow()
                    return

    async def _overflow(self) -> None:
        limit = self._settings.max_backlog_s
        log.warning("loopback session %d: over %g s of audio waiting", self._record.id, limit)
        await self._ws.close(
            code=BACKLOG_CLOSE, message=BACKLOG_REASON.format(limit=limit).encode()
        )

    async def _step(self) -> None:
        """One model step's worth of input: now and then, one word of text."""
        every = max(1, round(self._settings.text_interval_ms / 1000 / FRAME_S))
        if self._frames % every == 0:
            await self._ws.send_bytes(messages.text(" " + next(self._words)))
        self._frames += 1

    async def _echo(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._due:
                due, frame = self._due[0]
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                self._due.popleft()
                started = time.monotonic()
                if started - due > FRAME_S:
                    self._metrics.frames_late.inc()
                pages = self._writer.append_pcm(frame)
                if pages:
                    await self._ws.send_bytes(messages.audio(pages))
                    self._record.count_output()
                self._metrics.tick.observe(time.monotonic() - started)

    def _narration(self) -> Iterator[str]:
        """One word at a time, like the model's text stream, naming what this backend is."""
        while True:
            yield from [
                "[loopback",
                "backend]",
                "echoing",
                "your",
                "audio",
                "as",
                self._prompts.voice,
                "—",
                *self._prompts.persona.split()[:6],
                "…",
            ]
