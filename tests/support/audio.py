"""Real Ogg Opus audio for tests: encode a signal into moshi messages, decode replies, compare."""

from __future__ import annotations

import struct

import numpy as np
import sphn

from scenario6.bench.speech import encode
from scenario6.protocol.messages import FRAME_SAMPLES, SAMPLE_RATE, audio
from scenario6.protocol.ogg import crc32, write_page

RATE = SAMPLE_RATE
FRAME = FRAME_SAMPLES


def sweep(seconds: float, start_hz: float = 200.0, end_hz: float = 1200.0) -> np.ndarray:
    """A frequency sweep: unlike a tone, it has exactly one best alignment with itself."""
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * (start_hz * t + (end_hz - start_hz) * t * t / (2 * seconds))
    return (0.4 * np.sin(phase)).astype(np.float32)


def encode_messages(pcm: np.ndarray) -> list[bytes]:
    """``0x01`` messages, one per 80 ms frame, the way upstream's own writer makes them."""
    return encode(pcm)


def flood(seconds: float, max_bytes: int) -> list[bytes]:
    """``seconds`` of real Opus in as few messages of at most ``max_bytes`` as will hold it:
    the stream's first message, then whole pages packed together. The pages of 8 s of audio
    are used again and again (a decoder does not check page numbers), to save encoding."""
    first, *frames = encode_messages(sweep(8.0))
    count = round(seconds / (FRAME / RATE)) - 1
    messages, packed = [first], bytearray()
    for index in range(count):
        pages = frames[index % len(frames)][1:]
        if packed and 1 + len(packed) + len(pages) > max_bytes:
            messages.append(audio(bytes(packed)))
            packed.clear()
        packed += pages
    if packed:
        messages.append(audio(bytes(packed)))
    return messages


class Decoder:
    def __init__(self) -> None:
        self._reader = sphn.OpusStreamReader(RATE)
        self._chunks: list[np.ndarray] = []

    def feed(self, message: bytes) -> None:
        pcm = self._reader.append_bytes(message[1:])
        if len(pcm):
            self._chunks.append(np.asarray(pcm, dtype=np.float32))

    @property
    def pcm(self) -> np.ndarray:
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)


def best_correlation(sent: np.ndarray, received: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of ``received`` against ``sent``, and its lag.

    Opus is lossy and adds a little delay, so the signals are compared after aligning them;
    1.0 is identical, unrelated audio stays near 0.
    """
    n = min(len(sent), len(received))
    if n == 0:
        return 0.0, 0
    a = sent - sent.mean()
    b = received - received.mean()
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lag = int(np.argmax(corr))
    if lag >= size // 2:
        lag -= size
    shifted = b[lag:] if lag >= 0 else b
    reference = a if lag >= 0 else a[-lag:]
    m = min(len(shifted), len(reference))
    if m == 0:
        return 0.0, lag
    x, y = reference[:m], shifted[:m]
    denominator = float(np.linalg.norm(x) * np.linalg.norm(y)) or 1.0
    return float(np.dot(x, y) / denominator), lag


_PAGE_HEADER = struct.Struct("<4sBBqIIIB")


def raw_page(
    lacing: bytes, body: bytes, flags: int = 0, sequence: int = 0, serial: int = 7, granule: int = 0
) -> bytes:
    """One Ogg page with this segment table and body as they are, and a valid CRC."""
    header = _PAGE_HEADER.pack(b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + lacing + body)
    page[22:26] = struct.pack("<I", crc32(bytes(page)))
    return bytes(page)


def ogg_page(
    packets: list[bytes], serial: int = 7, sequence: int = 0, granule: int = 0, flags: int = 0
) -> bytes:
    """One Ogg page holding ``packets`` whole (RFC 3533 lacing), with its CRC."""
    return write_page(packets, serial, sequence, granule, flags)
