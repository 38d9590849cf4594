"""A raw WebSocket client that can say what no well-behaved library will: bad frames, bad
UTF-8, unmasked frames, reserved bits, oversize headers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import struct
from dataclasses import dataclass


@dataclass
class Reply:
    status: int  # HTTP status of the upgrade answer (0: the server just closed)
    close_code: int | None = None  # the server's close frame, if it sent one
    frames: int = 0  # data frames received before the close


def frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0, mask: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    size = len(payload)
    flag = 0x80 if mask else 0
    if size < 126:
        head += bytes([flag | size])
    elif size < 1 << 16:
        head += bytes([flag | 126]) + struct.pack("!H", size)
    else:
        head += bytes([flag | 127]) + struct.pack("!Q", size)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(
        cls, port: int, target: str, headers: dict[str, str] | None = None
    ) -> tuple[RawClient, int]:
        """Send an upgrade request for ``target`` (sent as is, not re-encoded)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        client = cls(reader, writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, ConnectionError):
            return client, 0
        return client, int(head.split(b" ", 2)[1])

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def until_closed(self, timeout: float = 10) -> Reply:
        """Read frames until the server's close frame (or the end of the stream)."""
        reply = Reply(101)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            await asyncio.wait_for(self._read_frames(reply), timeout)
        return reply

    async def _read_frames(self, reply: Reply) -> None:
        """Count frames into ``reply`` until the close frame, whose code it records."""
        while True:
            first, second = await self.reader.readexactly(2)
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
            payload = await self.reader.readexactly(size)
            if first & 0x0F == 0x8:
                reply.close_code = struct.unpack("!H", payload[:2])[0] if payload else None
                return
            reply.frames += 1

    async def aclose(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def http_status(port: int, request: bytes, timeout: float = 10) -> int:
    """Send raw HTTP bytes; the answer's status, 0 when the server only closed, -1 when it
    neither answered nor closed within ``timeout``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout)
        return int(head.split(b" ", 2)[1])
    except asyncio.TimeoutError:  # the builtin TimeoutError from Python 3.11 on
        return -1
    except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
        return 0
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
