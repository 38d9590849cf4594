"""A minimal Debug Adapter Protocol client over TCP, enough to drive debugpy in tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any


class DapClient:
    """Sends requests, collects responses and events; ``wait_event`` filters events."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._seq = itertools.count(1)
        self._responses: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._pump = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float = 30) -> DapClient:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
                return cls(reader, writer)
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def _read(self) -> None:
        while True:
            length = 0
            while (line := await self._reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if not line:
                return
            message = json.loads(await self._reader.readexactly(length))
            if message["type"] == "response":
                future = self._responses.pop(message["request_seq"], None)
                if future and not future.done():
                    future.set_result(message)
            elif message["type"] == "event":
                await self.events.put(message)

    def send(self, command: str, **arguments: Any) -> asyncio.Future[dict[str, Any]]:
        seq = next(self._seq)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._responses[seq] = future
        body = json.dumps(
            {"seq": seq, "type": "request", "command": command, "arguments": arguments}
        ).encode()
        self._writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return future

    async def request(self, command: str, timeout: float = 30, **arguments: Any) -> dict[str, Any]:
        response = await asyncio.wait_for(self.send(command, **arguments), timeout)
        assert response["success"], response
        return response

    async def wait_event(self, name: str, timeout: float = 30) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                event = await self.events.get()
                if event["event"] == name:
                    return event

        return await asyncio.wait_for(find(), timeout)

    async def close(self) -> None:
        self._pump.cancel()
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self._writer.wait_closed()
