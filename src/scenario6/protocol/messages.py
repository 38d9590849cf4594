"""Message kinds of the moshi WebSocket protocol: the first byte of every binary message."""

from __future__ import annotations

from enum import IntEnum


class Kind(IntEnum):
    HANDSHAKE = 0x00  # server → client, once the prompts have been processed
    AUDIO = 0x01  # both ways: whole Ogg Opus pages
    TEXT = 0x02  # server → client: a UTF-8 piece of the model's words


HANDSHAKE = bytes([Kind.HANDSHAKE])


def kind_of(message: bytes) -> int | None:
    """The kind byte of a binary message, or None for an empty message."""
    return message[0] if message else None


def audio(payload: bytes) -> bytes:
    return bytes([Kind.AUDIO]) + payload


def text(piece: str) -> bytes:
    return bytes([Kind.TEXT]) + piece.encode()
