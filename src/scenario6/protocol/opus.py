"""How much audio an Ogg Opus message holds, from its packets' own TOC bytes (RFC 6716 §3.1).

The proxy paces each client to real time by this count, once per message, so it reads only
what it must: each page's header and segment table (RFC 3533) to find where packets start,
and each packet's first byte or two. It checks no CRC and decodes nothing. Granule positions
are not used: upstream's writer counts them at 24 kHz, the standard at 48 kHz.
"""

from __future__ import annotations

import struct

from .ogg import CAPTURE, OggError

_HEADER = struct.Struct("<4sBB8x4x4x4xB")  # capture, version, flags, (granule..crc), nseg
_CONTINUED = 0x01  # the page's first packet began on an earlier page
_HEADER_PACKETS = (b"OpusHead", b"OpusTags")
MAX_PACKET_S = 0.120  # RFC 6716: no packet holds more than 120 ms
# The first byte of an 80 ms packet (two 40 ms SILK frames), for load generators.
OPUS_80_MS = bytes([10 << 3 | 1])


def _frame_seconds(config: int) -> float:
    if config < 12:  # SILK only: 10, 20, 40, 60 ms
        return (0.010, 0.020, 0.040, 0.060)[config % 4]
    if config < 16:  # hybrid: 10, 20 ms
        return (0.010, 0.020)[config % 2]
    return (0.0025, 0.005, 0.010, 0.020)[config % 4]  # CELT only


_FRAME_S = tuple(_frame_seconds(config) for config in range(32))


def packet_seconds(packet: bytes) -> float:
    """The audio in one Opus packet: its frame size times its frame count.

    >>> round(packet_seconds(bytes([0b01101_0_10, 0xAA])), 3)  # hybrid 20 ms, two frames
    0.04
    """
    if not packet:
        raise OggError("an empty Opus packet")
    toc = packet[0]
    frame = _FRAME_S[toc >> 3]
    code = toc & 0x03
    if code == 0:
        return frame
    if code in (1, 2):
        return 2 * frame
    if len(packet) < 2:
        raise OggError("an Opus packet of code 3 without its frame count")
    seconds = (packet[1] & 0x3F) * frame
    if seconds == 0 or seconds > MAX_PACKET_S + 1e-9:
        raise OggError(f"an Opus packet of {packet[1] & 0x3F} frames of {frame * 1000:g} ms")
    return seconds


def audio_seconds(data: bytes, offset: int = 0) -> float:
    """Seconds of audio in ``data[offset:]``, which must be whole Ogg pages and nothing else,
    read as a decoder reads them from a fresh start (see Counter for a stream of messages).

    Header packets (``OpusHead``, ``OpusTags``) count nothing; a packet counts on the page
    where it starts. Raises OggError for anything a decoder could read otherwise than
    counted here: bytes outside pages, a page cut short, a packet that is not Opus.
    """
    return _count(data, offset, open_packet=False)[0]


class Counter:
    """The audio in a stream's messages, counted one message at a time.

    A page flagged as continuing a packet only continues one if the page before it left a
    packet open; otherwise decoders read its first bytes as a packet of their own, so it is
    counted as one. Without this memory, every page so flagged would hide its first packet.

    >>> from scenario6.protocol.ogg import write_page
    >>> counter, page = Counter(), write_page([bytes([10 << 3])], flags=0x01)  # 40 ms
    >>> counter.count(page), counter.count(page)
    (0.04, 0.04)
    """

    def __init__(self) -> None:
        self.open_packet = False  # the last page counted ends in the middle of a packet

    def count(self, data: bytes, offset: int = 0) -> float:
        """Seconds of audio in ``data[offset:]`` (as audio_seconds); nothing is remembered
        of a message that raises OggError, which is not passed on."""
        seconds, self.open_packet = _count(data, offset, self.open_packet)
        return seconds


def _count(data: bytes, offset: int, open_packet: bool) -> tuple[float, bool]:
    total = 0.0
    end = len(data)
    while offset < end:
        if end - offset < _HEADER.size:
            raise OggError(f"truncated page header at byte {offset}")
        capture, version, flags, segments = _HEADER.unpack_from(data, offset)
        if capture != CAPTURE or version != 0:
            raise OggError(f"no Ogg page at byte {offset}")
        cursor = offset + _HEADER.size + segments
        lacing = data[offset + _HEADER.size : cursor]
        page_end = cursor + sum(lacing)
        if len(lacing) != segments or page_end > end:
            raise OggError(f"truncated page at byte {offset}")
        # Whether the next segment begins a packet: a continuation only without one open.
        fresh = not (flags & _CONTINUED and open_packet)
        start = -1  # where the packet in progress began on this page; -1: a continuation
        for size in lacing:
            if fresh:
                start, fresh = cursor, False
            cursor += size
            if size < 255:
                if start >= 0:
                    total += _seconds(data, start, cursor)
                start, fresh = -1, True
        if start >= 0:  # begun here, it goes on in the next page
            total += _seconds(data, start, cursor)
        open_packet = bool(lacing) and lacing[-1] == 255
        offset = cursor
    return total, open_packet


def _seconds(data: bytes, start: int, stop: int) -> float:
    if data.startswith(_HEADER_PACKETS, start):
        return 0.0
    return packet_seconds(data[start : min(stop, start + 2)])
