"""Message kinds of the moshi WebSocket protocol: the first byte of every binary message."""

from __future__ import annotations

from enum import IntEnum


class Kind(IntEnum):
    HANDSHAKE = 0x00  # server → client, once the prompts have been processed
    AUDIO = 0x01  # both ways: whole Ogg Opus pages
    TEXT = 0x02  # server → client: a UTF-8 piece of the model's words


HANDSHAKE = bytes([Kind.HANDSHAKE])

# Where a conversation is opened, on the backends and on the frontend alike.
CHAT_PATH = "/api/chat"

# Audio is 24 kHz mono; the model steps every 80 ms (1920 samples).
SAMPLE_RATE = 24000
FRAME_SAMPLES = 1920
FRAME_MS = 80
FRAME_S = FRAME_MS / 1000

# Our own backends name themselves in their upgrade response; upstream sends no such header,
# and any backend that does not is taken for upstream's server.
KIND_HEADER = "X-Scenario6-Backend"
LOOPBACK_KIND = "loopback"
BATCHED_KIND = "personaplex-batched"
PERSONAPLEX_KIND = "personaplex"


def audio(payload: bytes) -> bytes:
    return bytes([Kind.AUDIO]) + payload


def text(piece: str) -> bytes:
    return bytes([Kind.TEXT]) + piece.encode()
