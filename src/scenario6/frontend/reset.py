"""Ending a connection by a reset: at once, with whatever it still had to send dropped."""

from __future__ import annotations

import contextlib
import socket
import struct
from asyncio import Transport

# SO_LINGER on, for 0 seconds: close() then sends RST and frees the send queue.
_NO_LINGER = struct.pack("ii", 1, 0)


def reset(transport: Transport) -> None:
    """Abort ``transport`` with a reset. A plain abort sends FIN, which the kernel queues
    behind the data not yet taken: from a client that reads nothing, megabytes it keeps for
    minutes, probing a zero window, and the client never learns it was closed."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _NO_LINGER)
    transport.abort()
