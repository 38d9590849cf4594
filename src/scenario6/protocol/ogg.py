"""Ogg pages (RFC 3533) as carried in moshi audio messages.

Only what a relay, a checker or a load generator needs: split a byte string into pages,
verify each page's CRC, tell the Opus header pages (RFC 7845) from audio pages, and write a
page. Granule positions are
reported but never trusted for timing: upstream's writer counts them at 24 kHz.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

CAPTURE = b"OggS"
_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, seq, crc, nseg


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_TABLE = _crc_table()


def crc32(data: bytes) -> int:
    """Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[(crc >> 24) ^ byte]
    return crc


class OggError(ValueError):
    """Bytes that are not a sequence of whole, valid Ogg pages."""


@dataclass(frozen=True)
class Page:
    flags: int
    granule: int
    serial: int
    sequence: int
    packets: tuple[bytes, ...]
    continued_last: bool  # the last packet goes on in the next page

    @property
    def is_opus_head(self) -> bool:
        return bool(self.packets) and self.packets[0].startswith(b"OpusHead")

    @property
    def is_opus_tags(self) -> bool:
        return bool(self.packets) and self.packets[0].startswith(b"OpusTags")

    @property
    def bos(self) -> bool:
        return bool(self.flags & 0x02)

    @property
    def eos(self) -> bool:
        return bool(self.flags & 0x04)


def parse_pages(data: bytes) -> list[Page]:
    """Split ``data`` into whole pages, checking each CRC. Raises OggError otherwise."""
    pages: list[Page] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _HEADER.size:
            raise OggError(f"truncated page header at byte {offset}")
        capture, version, flags, granule, serial, sequence, crc, nseg = _HEADER.unpack_from(
            data, offset
        )
        if capture != CAPTURE:
            raise OggError(f"no OggS capture pattern at byte {offset}")
        if version != 0:
            raise OggError(f"unsupported Ogg version {version} at byte {offset}")
        table_start = offset + _HEADER.size
        lacing = data[table_start : table_start + nseg]
        if len(lacing) != nseg:
            raise OggError(f"truncated segment table at byte {offset}")
        body_start = table_start + nseg
        end = body_start + sum(lacing)
        if end > len(data):
            raise OggError(f"truncated page body at byte {offset}")
        raw = bytearray(data[offset:end])
        raw[22:26] = b"\0\0\0\0"
        if crc32(bytes(raw)) != crc:
            raise OggError(f"CRC mismatch in page {sequence} at byte {offset}")
        packets: list[bytes] = []
        current = bytearray()
        cursor = body_start
        for size in lacing:
            current += data[cursor : cursor + size]
            cursor += size
            if size < 255:
                packets.append(bytes(current))
                current = bytearray()
        continued = bool(lacing) and lacing[-1] == 255
        if continued:
            packets.append(bytes(current))
        pages.append(Page(flags, granule, serial, sequence, tuple(packets), continued))
        offset = end
    return pages


def write_page(
    packets: list[bytes], serial: int = 0, sequence: int = 0, granule: int = 0, flags: int = 0
) -> bytes:
    """One page holding ``packets`` whole (at most 255 lacing values), with its CRC.

    >>> parse_pages(write_page([b"abc"]))[0].packets
    (b'abc',)
    """
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    if len(lacing) > 255:
        raise OggError(f"{len(lacing)} lacing values do not fit in one page")
    page = bytearray(_HEADER.pack(CAPTURE, 0, flags, granule, serial, sequence, 0, len(lacing)))
    page += lacing + b"".join(packets)
    page[22:26] = struct.pack("<I", crc32(bytes(page)))
    return bytes(page)
