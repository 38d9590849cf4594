"""What a load-test caller says: a WAV file or made-up speech, as the moshi audio messages a
client sends (one Ogg Opus message per 80 ms, upstream's own writer)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import sphn

from scenario6.protocol.messages import FRAME_SAMPLES, SAMPLE_RATE, audio

# Long enough not to sound like a loop; encoded once and shared by every caller.
SYNTHETIC_S = 12.0


def encode(pcm: np.ndarray) -> list[bytes]:
    """``0x01`` messages, one per 80 ms frame; the first carries the stream's header pages."""
    writer = sphn.OpusStreamWriter(SAMPLE_RATE)
    messages = []
    for start in range(0, len(pcm) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        pages = writer.append_pcm(pcm[start : start + FRAME_SAMPLES])
        if pages:
            messages.append(audio(pages))
    return messages


def synthetic(seconds: float = SYNTHETIC_S, seed: int = 6) -> np.ndarray:
    """Speech-like sound: a voiced buzz whose pitch drifts, in syllables of 150–400 ms with
    short pauses, plus breath noise. Opus spends on it about what it spends on a voice."""
    rng = np.random.default_rng(seed)
    count = int(seconds * SAMPLE_RATE)
    envelope = np.zeros(count, np.float32)
    at = 0
    while at < count:
        length = int(rng.uniform(0.15, 0.4) * SAMPLE_RATE)
        syllable = np.sin(np.linspace(0, np.pi, min(length, count - at))) ** 2
        envelope[at : at + len(syllable)] = syllable
        at += length + int(rng.uniform(0.03, 0.25) * SAMPLE_RATE)
    t = np.arange(count) / SAMPLE_RATE
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    noise = rng.normal(0, 0.05, count)
    return (0.25 * envelope * voiced + 0.3 * envelope * noise).astype(np.float32)


def read_wav(path: Path) -> np.ndarray:
    """A PCM WAV file (8/16/32-bit, any rate, any channels) as 24 kHz mono floats."""
    with wave.open(str(path), "rb") as source:
        width, channels, rate = source.getsampwidth(), source.getnchannels(), source.getframerate()
        raw = source.readframes(source.getnframes())
    if width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width in (2, 4):
        kind = np.int16 if width == 2 else np.int32
        samples = np.frombuffer(raw, kind).astype(np.float32) / np.iinfo(kind).max
    else:
        raise ValueError(f"{path}: {8 * width}-bit samples; give 8, 16 or 32-bit PCM")
    mono = samples.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE:  # linear interpolation: enough for a load test's input
        times = np.arange(int(len(mono) * SAMPLE_RATE / rate)) * rate / SAMPLE_RATE
        mono = np.interp(times, np.arange(len(mono)), mono)
    if len(mono) < FRAME_SAMPLES:
        raise ValueError(f"{path}: shorter than one 80 ms frame")
    return np.asarray(mono, dtype=np.float32)


def messages(path: Path | None) -> list[bytes]:
    """The caller's messages: from ``path``, or made-up speech."""
    return encode(read_wav(path) if path else synthetic())
