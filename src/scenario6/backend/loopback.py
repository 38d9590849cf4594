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

from aiohttp import WSMsgType, web

from scenario6.facts.slots import SLOTS_HEADER
from scenario6.protocol import messages
from scenario6.protocol.messages import (
    CHAT_PATH,
    FRAME_S,
    KIND_HEADER,
    LOOPBACK_KIND,
)
from scenario6.protocol.voices import voice_name

from .drain import Drain
from .echo import Echo, Prompts
from .loopback_settings import LoopbackSettings
from .metrics import BackendMetrics
from .recording import SessionLog, SessionRecord

__all__ = ["LoopbackBackend", "LoopbackSettings"]

log = logging.getLogger("scenario6.loopback")


class LoopbackBackend:
    """The loopback's routes; on SIGTERM ``drain`` refuses new conversations (503) and lets
    the live ones run to their end or the drain timeout (``serve`` in ``drain``)."""

    def __init__(self, settings: LoopbackSettings, drain: Drain | None = None) -> None:
        self.settings = settings
        self.drain = drain or Drain()
        self.sessions = SessionLog()
        # One session at a time, like upstream's lock; ``slots`` at a time when set.
        self._lock = asyncio.Semaphore(settings.slots or 1)
        self._shared = Prompts()
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
        self.drain.admit()
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
            async with contextlib.AsyncExitStack() as turn:
                with self.drain.waiting(ws):
                    await turn.enter_async_context(lock)
                # Closed by a drain while it waited: ``_converse`` sees it and returns.
                with self.drain.hold(ws):
                    await self._converse(ws, record, self._prompts(voice, persona))
        finally:
            record.active = False
            log.info("loopback session %d closed: %s", record.id, record.summary()["messages"])
        return ws

    async def _converse(
        self, ws: web.WebSocketResponse, record: SessionRecord, prompts: Prompts
    ) -> None:
        """The prompt phase, the handshake, then the echo until the client leaves."""
        self._serving += 1
        try:
            started = time.monotonic()
            if ws.closed or not await self._prompt_phase(ws, record):
                return
            self.metrics.prompt.observe(time.monotonic() - started)
            await ws.send_bytes(messages.HANDSHAKE)
            await Echo(ws, record, self.settings, prompts, self.metrics).run()
        finally:
            self._serving -= 1

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

    def _prompts(self, voice: str, persona: str) -> Prompts:
        if not self.settings.own_prompts:
            return self._shared
        own = Prompts()
        own.voice, own.persona = voice, persona
        return own
