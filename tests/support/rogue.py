"""Misbehaving backends on free loopback ports: what a crashed, hung or broken server does.

Each speaks just enough of the moshi protocol to get a session going, then misbehaves in
one way. They record what reached them, so tests can check the proxy's part too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from scenario6.bench.harness import HOST, free_port

Behaviour = Callable[[ServerConnection, "RogueBackend"], Awaitable[None]]


@dataclass
class RogueBackend:
    port: int
    connections: int = 0
    ended: int = 0  # connections whose handler has returned (closed by either side)
    received: list[bytes | str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"ws://{HOST}:{self.port}/api/chat"


async def _hold(ws: ServerConnection) -> None:
    """Keep the connection open, reading nothing, until the peer goes."""
    await ws.wait_closed()


async def never_handshakes(ws: ServerConnection, rogue: RogueBackend) -> None:
    """Accepts the session and reads, but never sends the 0x00 handshake."""
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            rogue.received.append(message)


async def stalls(ws: ServerConnection, rogue: RogueBackend) -> None:
    """Handshakes, sends a little, then neither sends nor reads (a hung process)."""
    await ws.send(b"\x00")
    await ws.send(b"\x02 hello")
    await _hold(ws)


def sends(messages: Sequence[bytes | str], then_close: bool = False) -> Behaviour:
    """Handshakes, sends ``messages`` as they are, then stays (or closes normally)."""

    async def behaviour(ws: ServerConnection, rogue: RogueBackend) -> None:
        await ws.send(b"\x00")
        for message in messages:
            await ws.send(message)
        if then_close:
            await ws.close()
        else:
            with contextlib.suppress(ConnectionClosed):
                async for message in ws:
                    rogue.received.append(message)

    return behaviour


def closes_with(code: int, reason: str) -> Behaviour:
    """Handshakes, then closes the session itself with ``code`` (as a server does on a client
    stream it cannot read: 1007)."""

    async def behaviour(ws: ServerConnection, rogue: RogueBackend) -> None:
        await ws.send(b"\x00")
        await ws.close(code, reason)

    return behaviour


def breaks_protocol(frame: bytes) -> Behaviour:
    """Handshakes, writes ``frame`` to the socket as it is (a frame no WebSocket library would
    send: too big, a reserved opcode, text that is not UTF-8), then stops reading: like a busy
    server, it neither answers the closing handshake nor closes the connection."""

    async def behaviour(ws: ServerConnection, rogue: RogueBackend) -> None:
        await ws.send(b"\x00")
        ws.transport.write(frame)
        ws.transport.pause_reading()
        await _hold(ws)

    return behaviour


def floods(size: int = 4000) -> Behaviour:
    """Handshakes, then sends audio-kind messages as fast as the connection takes them."""

    async def behaviour(ws: ServerConnection, rogue: RogueBackend) -> None:
        await ws.send(b"\x00")
        payload = b"\x01" + bytes(size)
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.send(payload)

    return behaviour


@contextlib.asynccontextmanager
async def rogue_backend(
    behaviour: Behaviour, port: int | None = None
) -> AsyncIterator[RogueBackend]:
    """A WebSocket server on ``/api/chat`` that misbehaves as ``behaviour`` says."""
    rogue = RogueBackend(port or free_port())

    async def handler(ws: ServerConnection) -> None:
        rogue.connections += 1
        rogue.queries.append(ws.request.path if ws.request else "")
        try:
            with contextlib.suppress(ConnectionClosed):
                await behaviour(ws, rogue)
        finally:
            rogue.ended += 1

    # max_queue=1: a handler that stops reading really stops the socket being read.
    async with serve(
        handler, HOST, rogue.port, max_queue=1, max_size=None, compression=None, ping_interval=None
    ) as server:
        try:
            yield rogue
        finally:
            server.close(close_connections=False)
            for connection in list(server.connections):
                connection.transport.abort()


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[RogueBackend]:
    """Accepts TCP connections and never answers: the WebSocket upgrade never completes."""
    rogue = RogueBackend(free_port())
    writers: list[asyncio.StreamWriter] = []

    async def swallow(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rogue.connections += 1
        writers.append(writer)

    server = await asyncio.start_server(swallow, HOST, rogue.port)
    try:
        yield rogue
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        await server.wait_closed()
