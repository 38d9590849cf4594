"""The moshi protocol at ``/api/chat`` for N conversations on one batched engine.

Clients see upstream's server: the same query parameters, the handshake once the prompts are
done, binary kind-prefixed messages, Ogg Opus both ways, output clocked by input. Differences,
all in the client's favour: a bad request (an unknown voice) gets HTTP 400 before the upgrade,
and an Ogg stream begun before the handshake keeps its header pages (upstream loses them, and
with them the session); the audio itself reaches the model from the handshake on.

One scheduler task owns the engine, and every engine call runs on one worker thread, so the
event loop keeps serving sockets while the model computes. The scheduler runs a *frame* when
every live conversation has 80 ms of audio waiting, or when the oldest waiting audio is half a
frame old (a client that paused must not hold the others back); between frames it spends the
idle time on joining conversations' prompt steps, one at a time. When frames run late, a frame
is always due: then a joining conversation gets one step after every frame, and the time
until the next frame's audio is expected (:func:`prompt_deadline`), so it reaches its
handshake while the live conversations lose as little time as there is to lose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import sphn
import torch
from aiohttp import WSMsgType, web

from scenario6.protocol.limits import BACKLOG_CLOSE, BACKLOG_REASON, MAX_BACKLOG_S
from scenario6.protocol.messages import (
    BATCHED_KIND,
    CHAT_PATH,
    FRAME_S,
    HANDSHAKE,
    KIND_HEADER,
    SLOTS_HEADER,
    Kind,
)
from scenario6.protocol.ogg import OggError
from scenario6.protocol.opus import Counter

from ..conventions import system_tags
from .engine import Engine, Slot
from .sampling import UPSTREAM, Sampling

log = logging.getLogger("scenario6.batched")

PATIENCE_S = FRAME_S / 2  # how long waiting audio may wait for the others' before a frame runs
PROMPT_MARGIN_S = 0.005  # of a frame's slack, kept back for the scheduling itself
CLOSE_S = 2.0  # how long a close waits for the client's answer
MAX_FAILURES = 3  # consecutive model errors before the server exits
SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed accepts
PUMP_S = 0.002  # how often each conversation's codecs are read
SILENT_TOKENS = (0, 3)  # the text stream's end-of-padding and padding: nothing to say
T = TypeVar("T")


@dataclass(eq=False)
class Conversation:
    """One client's session: its socket, Opus codecs, waiting audio and its slot."""

    ws: web.WebSocketResponse
    voice: str
    text_tokens: list[int]
    seed: int | None
    sampling: Sampling
    sample_rate: int
    frame_size: int
    slot: Slot | None = None
    live: bool = False
    outgoing: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    chunks: deque[tuple[float, np.ndarray]] = field(default_factory=deque)
    received_s: float = 0.0  # audio received since the handshake
    counter: Counter = field(default_factory=Counter)  # what counts it
    taken: int = 0  # frames of it the model has taken

    def __post_init__(self) -> None:
        self.reader = sphn.OpusStreamReader(self.sample_rate)
        self.writer = sphn.OpusStreamWriter(self.sample_rate)
        self.pcm = np.zeros(0, dtype=np.float32)

    def pump(self) -> bool:
        """Move decoded audio to the model and encoded audio to the client; True when a
        whole frame of audio is newly waiting for the model.

        The codecs work on threads of their own (as upstream's server relies on): what
        went in is ready a little later, so this runs every few milliseconds.
        """
        if self.live:  # the handshake comes first; the stream's header pages after it
            ogg = self.writer.read_bytes()
            if ogg:
                self.outgoing.put_nowait(bytes([Kind.AUDIO]) + ogg)
        pcm = self.reader.read_pcm()
        if not self.live or not pcm.shape[-1]:
            return False  # before the handshake, decoded only to keep the stream in step
        self.pcm = np.concatenate((self.pcm, pcm))
        added = False
        while self.pcm.shape[-1] >= self.frame_size:
            self.chunks.append((time.monotonic(), self.pcm[: self.frame_size]))
            self.pcm = self.pcm[self.frame_size :]
            added = True
        return added

    @property
    def backlog_s(self) -> float:
        """Seconds of this client's audio waiting for the model: as received (by the Opus
        packets' own length) or, for messages that could not be counted so, as decoded."""
        frame_s = self.frame_size / self.sample_rate
        decoded = len(self.chunks) * frame_s + self.pcm.shape[-1] / self.sample_rate
        return max(self.received_s - self.taken * frame_s, decoded)


class Scheduler:
    """Owns the engine: joins, prompt steps, frames and leaves, in one task."""

    def __init__(self, engine: Engine, piece: Callable[[int], str], frame_size: int) -> None:
        self.engine = engine
        self.piece = piece
        self.frame_size = frame_size
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="model")
        self.waiting: deque[Conversation] = deque()
        self.prompting: list[Conversation] = []
        self.live: list[Conversation] = []
        self.leaving: list[Conversation] = []
        self.wake = asyncio.Event()
        self.prompt_until = 0.0  # joining conversations' share after the last frame
        self.step_owed = False  # a joining conversation's one step after each frame

    async def _model(self, call: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with torch.no_grad():
                return call(*args)

        return await asyncio.get_running_loop().run_in_executor(self.executor, run)

    def add(self, conversation: Conversation) -> None:
        self.waiting.append(conversation)
        self.wake.set()

    def remove(self, conversation: Conversation) -> None:
        self.leaving.append(conversation)
        self.wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._turn()
                failures = 0
            except Exception as exc:
                # The model is shared: an error in a frame may have left any slot's state
                # half-written, so every conversation in progress ends.
                failures += 1
                log.exception("model error; ending every conversation in progress")
                ended = [*self.prompting, *self.live]
                for conversation in ended:
                    self.remove(conversation)
                await _close_all(ended, 1011, b"model error")
                if failures >= MAX_FAILURES or "CUDA" in str(exc):
                    # A device error does not go away: exit so that the container restarts.
                    log.critical("giving up after %d model errors", failures)
                    os._exit(3)

    async def _turn(self) -> None:
        await self._leave()
        await self._join()
        wait = self._frame_due()
        # When frames run late (a loaded machine, clients with a backlog) a frame is always
        # due; a joining conversation still gets its share after each frame.
        if self.prompting and (wait > 0 or self.step_owed or time.monotonic() < self.prompt_until):
            self.step_owed = False
            await self._prompt(self.prompting[0])
        elif wait <= 0:
            self.prompt_until = prompt_deadline(await self._frame())
            self.step_owed = True
        else:
            self.wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):  # TimeoutError from Python 3.11 on
                await asyncio.wait_for(self.wake.wait(), None if wait == float("inf") else wait)

    async def _leave(self) -> None:
        while self.leaving:
            conversation = self.leaving.pop()
            if conversation in self.waiting:
                self.waiting.remove(conversation)
            for group in (self.prompting, self.live):
                if conversation in group:
                    group.remove(conversation)
            if conversation.slot is not None:
                await self._model(self.engine.leave, conversation.slot)
                conversation.slot = None

    async def _join(self) -> None:
        while self.waiting and self.engine.free:
            conversation = self.waiting.popleft()
            try:
                conversation.slot = await self._model(self._start, conversation)
            except Exception:  # its voice file, say: this conversation alone ends
                log.exception("could not start a conversation")
                await _close_all([conversation], 1011, b"could not start the conversation")
                continue
            self.prompting.append(conversation)

    def _start(self, conversation: Conversation) -> Slot:
        return self.engine.join(
            conversation.voice,
            conversation.text_tokens,
            seed=conversation.seed,
            sampling=conversation.sampling,
        )

    async def _prompt(self, conversation: Conversation) -> None:
        assert conversation.slot is not None
        if not await self._model(self.engine.prompt, conversation.slot, 1):
            return
        self.prompting.remove(conversation)
        conversation.live = True
        self.live.append(conversation)
        conversation.outgoing.put_nowait(HANDSHAKE)

    def _frame_due(self) -> float:
        """Seconds until the next frame should run: 0 now, inf when no audio waits."""
        waiting = [c for c in self.live if c.chunks]
        if not waiting:
            return float("inf")
        if len(waiting) == len(self.live) or any(len(c.chunks) > 1 for c in waiting):
            return 0.0
        oldest = min(c.chunks[0][0] for c in waiting)
        return oldest + PATIENCE_S - time.monotonic()

    async def _frame(self) -> float:
        """One frame for the live conversations with audio waiting; when the oldest of that
        audio arrived."""
        audio: dict[Slot, torch.Tensor] = {}
        owners: dict[Slot, Conversation] = {}
        arrived = time.monotonic()
        for conversation in self.live:
            if conversation.chunks and conversation.slot is not None:
                at, chunk = conversation.chunks.popleft()
                conversation.taken += 1
                arrived = min(arrived, at)
                tensor = torch.from_numpy(chunk).to(device=self.engine.device)[None, None]
                audio[conversation.slot] = tensor
                owners[conversation.slot] = conversation
        outputs = await self._model(self.engine.frame, audio)
        for slot, output in outputs.items():
            conversation = owners[slot]
            if output.pcm is None or output.text_token is None:
                continue
            conversation.writer.append_pcm(output.pcm[0, 0].cpu().numpy())
            if output.text_token not in SILENT_TOKENS:
                piece = self.piece(output.text_token).replace("\u2581", " ")
                conversation.outgoing.put_nowait(bytes([Kind.TEXT]) + piece.encode())
        return arrived


class ChatServer:
    """The aiohttp application: ``/api/chat`` over the scheduler."""

    def __init__(
        self,
        scheduler: Scheduler,
        encode: Callable[[str], list[int]],
        voices: Path,
        sample_rate: int,
        max_backlog_s: float = MAX_BACKLOG_S,
    ) -> None:
        self.scheduler = scheduler
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
        ws.headers[SLOTS_HEADER] = str(len(self.scheduler.engine.slots))
        await ws.prepare(request)
        conversation = Conversation(
            ws,
            voice=str(voice),
            text_tokens=self.encode(system_tags(persona)) if persona else [],
            seed=None if seed in (None, -1) else seed,
            sampling=sampling,
            sample_rate=self.sample_rate,
            frame_size=self.scheduler.frame_size,
        )
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
            await ws.close()
        return ws

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
        await _close_all([conversation], BACKLOG_CLOSE, reason.encode())
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


def prompt_deadline(arrived: float) -> float:
    """Until when a joining conversation's prompt steps may run after a frame whose audio
    arrived at ``arrived`` (monotonic seconds), even if another frame is due: until the next
    frame's audio is expected. Frames that run late leave none of it; one step runs after each
    frame in any case, or a full batch would never let anyone in."""
    return arrived + FRAME_S - PROMPT_MARGIN_S


async def _close_all(conversations: list[Conversation], code: int, reason: bytes) -> None:
    """Close the sockets together, none waiting long for a client that does not answer."""

    async def close(conversation: Conversation) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conversation.ws.close(code=code, message=reason), CLOSE_S)

    await asyncio.gather(*(close(c) for c in conversations))


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
