"""The loopback backend's side of a conversation once its handshake is sent: the client's
audio decoded, encoded again and sent back after a delay, with a word of text now and then."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterator

import numpy as np
import sphn
from aiohttp import WSMsgType, web

from scenario6.protocol import messages
from scenario6.protocol.limits import BACKLOG_CLOSE, BACKLOG_REASON
from scenario6.protocol.messages import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, Kind
from scenario6.protocol.ogg import OggError, parse_pages

from .loopback_settings import LoopbackSettings
from .metrics import BackendMetrics
from .recording import SessionRecord

log = logging.getLogger("scenario6.loopback")


class Prompts:
    """Upstream stores a connection's prompts before taking its session lock; so do we.

    Reproducing that defect is what lets tests prove the proxy never opens a second
    session on a busy backend: if it did, the first conversation's text would change.
    """

    voice = ""
    persona = ""


class Echo:
    """Echo audio and narrate, until the client leaves."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        record: SessionRecord,
        settings: LoopbackSettings,
        prompts: Prompts,
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
