from __future__ import annotations

import pytest

from scenario6.protocol.ogg import OggError, crc32, parse_pages
from tests.support.audio import encode_messages, sweep


def test_crc_matches_the_ogg_reference_value() -> None:
    # The CRC of "123456789" for poly 0x04C11DB7, init 0, no reflection, no final xor.
    assert crc32(b"123456789") == 0x89A1897F


def test_pages_written_by_sphn_parse_with_opus_headers_first() -> None:
    messages = encode_messages(sweep(0.4))
    pages = [page for m in messages for page in parse_pages(m[1:])]
    assert pages[0].is_opus_head and pages[0].bos
    assert pages[1].is_opus_tags
    assert {p.serial for p in pages} == {pages[0].serial}
    assert [p.sequence for p in pages] == list(range(len(pages)))
    assert all(p.packets for p in pages[2:])


@pytest.mark.parametrize("damage", ["crc", "capture", "truncate"])
def test_damaged_pages_are_rejected(damage: str) -> None:
    data = bytearray(encode_messages(sweep(0.16))[0][1:])
    if damage == "crc":
        data[-1] ^= 0xFF
    elif damage == "capture":
        data[0:4] = b"OggX"
    else:
        data = data[:-3]
    with pytest.raises(OggError):
        parse_pages(bytes(data))
