"""A moshi protocol client for tests: what a PersonaPlex client does, observed closely."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .audio import Decoder


@dataclass
class Conversation:
    ws: ClientConnection
    events: list[dict[str, object]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)
    decoder: Decoder = field(default_factory=Decoder)
    handshake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, str):
                    self.events.append(json.loads(message))
                else:
                    self.kinds.append(message[0])
                    if message[0] == 0:
                        self.handshake.set()
                    elif message[0] == 1:
                        self.decoder.feed(message)
                    elif message[0] == 2:
                        self.text.append(message[1:].decode())
                self.changed.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self.changed.set()

    async def send_audio(self, messages: list[bytes], cadence_s: float = 0.08) -> None:
        for message in messages:
            await self.ws.send(message)
            await asyncio.sleep(cadence_s)

    async def wait_for(self, predicate: object, timeout: float = 10) -> None:
        """Wait until ``predicate()`` holds; a generous bound that only catches hangs."""

        async def poll() -> None:
            while not predicate():  # type: ignore[operator]
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(poll(), timeout)

    async def echoed(self, messages: list[bytes]) -> int:
        """Audio frames that came back for ``messages`` sent (a loopback backend echoes); waits
        for at least one."""
        before = self.kinds.count(1)
        await self.send_audio(messages)
        await self.wait_for(lambda: self.kinds.count(1) > before)
        return self.kinds.count(1) - before

    async def admitted(self) -> bool:
        """Whether the session got a backend or a place in the queue rather than a refusal."""
        await self.wait_for(
            lambda: self.handshake.is_set() or self.events_of("queued") or self.closed.is_set()
        )
        return not self.closed.is_set()

    def events_of(self, kind: str) -> list[dict[str, object]]:
        return [e for e in self.events if e.get("type") == kind]

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    @property
    def close_reason(self) -> str | None:
        return self.ws.close_reason


@contextlib.asynccontextmanager
async def conversation(url: str, **connect_options: object) -> AsyncIterator[Conversation]:
    async with connect(url, compression=None, **connect_options) as ws:  # type: ignore[arg-type]
        talk = Conversation(ws)
        reader = asyncio.create_task(talk.read())
        try:
            yield talk
        finally:
            await ws.close()
            await asyncio.wait_for(reader, 5)
