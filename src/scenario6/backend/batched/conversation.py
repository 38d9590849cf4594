"""One client's conversation on the batched server: its socket, codecs and waiting audio."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sphn
from aiohttp import web

from scenario6.protocol.messages import Kind
from scenario6.protocol.opus import Counter

from .sampling import Sampling
from .stepper import Slot

CLOSE_S = 2.0  # how long a close waits for the client's answer


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
    opened: float = field(default_factory=time.monotonic)  # when its socket opened
    # Called when it gets its slot: from then on a drain lets it finish.
    begun: Callable[[], None] = lambda: None

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


async def close_all(conversations: list[Conversation], code: int, reason: bytes) -> None:
    """Close the sockets together, none waiting long for a client that does not answer."""

    async def close(conversation: Conversation) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conversation.ws.close(code=code, message=reason), CLOSE_S)

    await asyncio.gather(*(close(c) for c in conversations))
