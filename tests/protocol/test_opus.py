from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenario6.protocol.ogg import OggError
from scenario6.protocol.opus import Counter, audio_seconds, packet_seconds
from tests.support.audio import encode_messages, ogg_page, raw_page, sweep


def test_real_opus_counts_its_own_length() -> None:
    """The project's encoder: the header pages count nothing, every message 80 ms."""
    messages = encode_messages(sweep(2.0))
    seconds = [audio_seconds(message, 1) for message in messages]
    assert sum(seconds) == pytest.approx(2.0)
    assert seconds == pytest.approx([0.08] * len(messages))
    header = ogg_page([b"OpusHead" + bytes(11)]) + ogg_page([b"OpusTags" + bytes(8)])
    assert audio_seconds(header) == 0


@pytest.mark.parametrize(
    ("configs", "frame_ms"),
    [
        (range(0, 12, 4), 10),  # SILK, narrow/medium/wide band
        (range(1, 12, 4), 20),
        (range(2, 12, 4), 40),
        (range(3, 12, 4), 60),
        ((12, 14), 10),  # hybrid
        ((13, 15), 20),
        (range(16, 32, 4), 2.5),  # CELT
        (range(17, 32, 4), 5),
        (range(18, 32, 4), 10),
        (range(19, 32, 4), 20),
    ],
)
def test_each_configuration_has_its_frame_size(configs: range, frame_ms: float) -> None:
    for config in configs:
        for stereo in (0, 4):
            toc = config << 3 | stereo
            assert packet_seconds(bytes([toc, 0])) == pytest.approx(frame_ms / 1000)  # code 0
            assert packet_seconds(bytes([toc | 1, 0, 0])) == pytest.approx(2 * frame_ms / 1000)
            assert packet_seconds(bytes([toc | 2, 1, 0])) == pytest.approx(2 * frame_ms / 1000)
            count = int(120 // frame_ms)  # code 3: as many frames as 120 ms holds
            assert packet_seconds(bytes([toc | 3, 0xC0 | count])) == pytest.approx(
                count * frame_ms / 1000
            )


@pytest.mark.parametrize(
    "packet",
    [
        b"",  # no TOC byte
        bytes([19 << 3 | 3]),  # code 3 without its frame count
        bytes([19 << 3 | 3, 0]),  # zero frames
        bytes([19 << 3 | 3, 7]),  # 7 × 20 ms: over the 120 ms a packet may hold
    ],
)
def test_packets_a_decoder_refuses_are_refused(packet: bytes) -> None:
    with pytest.raises(OggError):
        packet_seconds(packet)
    with pytest.raises(OggError):
        audio_seconds(ogg_page([packet]))


def test_a_packet_across_two_pages_counts_once() -> None:
    packet = bytes([10 << 3]) + bytes(299)  # SILK 40 ms, 300 bytes
    first = raw_page(b"\xff", packet[:255])
    second = raw_page(bytes([45, 1]), packet[255:] + bytes([19 << 3]), flags=0x01, sequence=1)
    assert audio_seconds(first) == pytest.approx(0.040)
    assert audio_seconds(first + second) == pytest.approx(0.060)
    counter = Counter()  # the two pages in two messages
    assert counter.count(first) == pytest.approx(0.040)
    assert counter.count(second) == pytest.approx(0.020)  # only the packet that starts here


def test_a_page_flagged_as_continuing_with_no_packet_open_counts_its_first_packet() -> None:
    """Decoders read such a page's first bytes as a packet of their own: counted as one."""
    first, second = (ogg_page([bytes([10 << 3])], sequence=n, flags=0x01) for n in range(2))
    assert audio_seconds(first + second) == pytest.approx(0.080)
    counter = Counter()
    assert counter.count(first) + counter.count(second) == pytest.approx(0.080)


@pytest.mark.parametrize("damage", ["junk after", "cut short", "no capture", "version"])
def test_anything_but_whole_pages_is_refused(damage: str) -> None:
    data = bytearray(encode_messages(sweep(0.16))[1][1:])
    if damage == "junk after":
        data += b"OggS" + bytes(10)
    elif damage == "cut short":
        data = data[:-3]
    elif damage == "no capture":
        data[0:4] = b"OggX"
    else:
        data[4] = 1
    with pytest.raises(OggError):
        audio_seconds(bytes(data))


@settings(max_examples=300, database=None, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_ogg_error(data: bytes) -> None:
    with contextlib.suppress(OggError):
        assert audio_seconds(b"OggS\x00" + data) >= 0
