"""The moshi protocol at ``/api/chat`` for N conversations on one batched model.

Clients see upstream's server: the same query parameters, the handshake once the prompts are
done, binary kind-prefixed messages, Ogg Opus both ways, output clocked by input. Differences,
all in the client's favour: a bad request (an unknown voice) gets HTTP 400 before the upgrade,
and an Ogg stream begun before the handshake keeps its header pages (upstream loses them, and
with them the session); the audio itself reaches the model from the handshake on. When each
conversation's audio reaches the model is the scheduler's (:mod:`.scheduler`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from scenario6.facts.slots import SLOTS_HEADER
from scenario6.protocol.limits import BACKLOG_CLOSE, BACKLOG_REASON, MAX_BACKLOG_S
from scenario6.protocol.messages import BATCHED_KIND, CHAT_PATH, KIND_HEADER, Kind
from scenario6.protocol.ogg import OggError

from ..conventions import system_tags
from ..drain import Drain
from .conversation import Conversation, close_all
from .sampling import UPSTREAM, Sampling
from .scheduler import Scheduler

log = logging.getLogger("scenario6.batched")

SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed accepts
PUMP_S = 0.002  # how often each conversation's codecs are read


class ChatServer:
    """The aiohttp application: ``/api/chat`` over the scheduler."""

    def __init__(
        self,
        scheduler: Scheduler,
        encode: Callable[[str], list[int]],
        voices: Path,
        sample_rate: int,
        max_backlog_s: float = MAX_BACKLOG_S,
        drain: Drain | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.drain = drain or Drain()
        self.encode = encode
        self.voices = voices
        self.sample_rate = sample_rate
        self.max_backlog_s = max_backlog_s

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(CHAT_PATH, self.chat)
        app.on_startup.append(self._start)
        return app

    async def _start(self, app: web.Application) -> None:
        app["scheduler"] = asyncio.create_task(self.scheduler.run())

    def _voice(self, name: str) -> Path | None:
        path = (self.voices / name).resolve()
        if not name or path.parent != self.voices.resolve() or not path.is_file():
            return None
        return path

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.drain.admit()
        query = request.query
        voice = self._voice(query.get("voice_prompt", ""))
        if voice is None:
            raise web.HTTPBadRequest(text=f"unknown voice_prompt {query.get('voice_prompt')!r}")
        try:
            sampling = parse_sampling(query)
            seed = int(query["seed"]) if "seed" in query else None
            if seed is not None and not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
                raise ValueError(f"seed must be between {SEED_RANGE[0]} and {SEED_RANGE[1]}")
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        persona = query.get("text_prompt", "")
        ws = web.WebSocketResponse()
        ws.headers[KIND_HEADER] = BATCHED_KIND
        ws.headers[SLOTS_HEADER] = str(len(self.scheduler.stepper.slots))
        await ws.prepare(request)
        conversation = Conversation(
            ws,
            voice=str(voice),
            text_tokens=self.encode(system_tags(persona)) if persona else [],
            seed=None if seed in (None, -1) else seed,
            sampling=sampling,
            sample_rate=self.sample_rate,
            frame_size=self.scheduler.frame_size,
            begun=lambda: self.drain.begun(ws),
        )
        # Waiting for a slot until the scheduler gives it one: a drain sends it away.
        with self.drain.hold(ws), self.drain.waiting(ws):
            await self._converse(conversation)
        return ws

    async def _converse(self, conversation: Conversation) -> None:
        sender = asyncio.create_task(self._send(conversation))
        pump = asyncio.create_task(self._pump(conversation))
        self.scheduler.add(conversation)
        try:
            await self._receive(conversation)
        finally:
            self.scheduler.remove(conversation)
            pump.cancel()
            conversation.outgoing.put_nowait(None)
            await sender
            await conversation.ws.close()

    async def _pump(self, conversation: Conversation) -> None:
        while True:
            await asyncio.sleep(PUMP_S)
            if conversation.pump():
                self.scheduler.wake.set()
            if await self._overflowed(conversation):
                return

    async def _overflowed(self, conversation: Conversation) -> bool:
        """Close a conversation with more audio waiting than ``max_backlog_s``: sent faster
        than the model takes it, it would queue without limit, and its frames, always due,
        would slow every other conversation's joining."""
        if conversation.backlog_s <= self.max_backlog_s:
            return False
        log.warning("a conversation had over %g s of audio waiting", self.max_backlog_s)
        conversation.chunks.clear()
        reason = BACKLOG_REASON.format(limit=self.max_backlog_s)
        await close_all([conversation], BACKLOG_CLOSE, reason.encode())
        return True

    async def _receive(self, conversation: Conversation) -> None:
        async for message in conversation.ws:
            if message.type != WSMsgType.BINARY or not message.data:
                continue
            data: bytes = message.data
            if data[0] == Kind.AUDIO:
                if conversation.live:
                    # Counted before it is decoded, so that a flood is not decoded first.
                    with contextlib.suppress(OggError):
                        conversation.received_s += conversation.counter.count(data, 1)
                    if await self._overflowed(conversation):
                        return
                try:
                    conversation.reader.append_bytes(data[1:])
                except ValueError:  # e.g. a second Ogg stream: the decoder has ended
                    await conversation.ws.close(code=1007, message=b"unreadable Ogg stream")
                    return

    async def _send(self, conversation: Conversation) -> None:
        while (message := await conversation.outgoing.get()) is not None:
            if conversation.ws.closed:
                continue
            with contextlib.suppress(ConnectionError):
                await conversation.ws.send_bytes(message)


def parse_sampling(query: Any) -> Sampling:
    """The official client's sampling parameters, applied per conversation (upstream reads
    and ignores them)."""
    values: dict[str, Any] = {}
    names = {
        "audio_temperature": ("temp", float),
        "text_temperature": ("temp_text", float),
        "audio_topk": ("top_k", int),
        "text_topk": ("top_k_text", int),
    }
    for parameter, (name, kind) in names.items():
        if parameter in query:
            try:
                values[name] = kind(query[parameter])
            except ValueError:
                raise ValueError(f"{parameter} must be a number") from None
    sampling = Sampling(**{**UPSTREAM.__dict__, **values})
    if min(sampling.temp, sampling.temp_text, sampling.top_k, sampling.top_k_text) < 0:
        raise ValueError("temperatures and top-k values must be ≥ 0 (a top-k of 0: no limit)")
    return sampling
