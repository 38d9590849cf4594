"""The browser client's Ogg code against independent implementations: sphn (Rust) and
scenario6.protocol.ogg. Node cannot encode Opus, so real Opus packets come from sphn."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sphn

from scenario6.protocol.ogg import parse_pages
from tests.conftest import require_tool
from tests.support.audio import RATE, best_correlation, encode_messages, sweep

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tests" / "js" / "tools"


def node(script: str, data: bytes, *args: str) -> bytes:
    result = subprocess.run(
        [require_tool("node"), str(TOOLS / script), *args],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


@pytest.fixture(scope="module")
def sphn_stream() -> bytes:
    """Two seconds of a sweep as upstream's writer produces it (sphn)."""
    return b"".join(m[1:] for m in encode_messages(sweep(2.0)))


def audio_packets(stream: bytes) -> list[bytes]:
    pages = [p for p in parse_pages(stream) if not (p.is_opus_head or p.is_opus_tags)]
    return [packet for page in pages for packet in page.packets]


def mux(packets: list[bytes], serial: int) -> bytes:
    """The stream the browser client writes for these packets."""
    encoded = [base64.b64encode(p).decode() for p in packets]
    request = {"packets": encoded, "serial": serial, "preSkip": 312}
    return node("mux.mjs", json.dumps(request).encode())


def test_stream_written_by_the_client_is_valid_ogg_opus(sphn_stream: bytes) -> None:
    packets = audio_packets(sphn_stream)
    written = mux(packets, 0x5EED)

    pages = parse_pages(written)  # raises on any CRC or framing error
    assert pages[0].is_opus_head and pages[0].bos and pages[0].granule == 0
    assert pages[0].packets[0][9] == 1  # one channel
    assert int.from_bytes(pages[0].packets[0][10:12], "little") == 312
    assert pages[1].is_opus_tags and not pages[1].bos and pages[1].granule == 0
    assert [p.sequence for p in pages] == list(range(len(pages)))
    assert {p.serial for p in pages} == {0x5EED}
    audio = pages[2:]
    assert all(len(p.packets) <= 2 for p in audio)
    assert audio[-1].eos
    assert [q for p in audio for q in p.packets] == packets

    # Granules count 48 kHz samples: sphn 0.2 does too, one packet per page, so every second
    # sphn page must carry the same granule as one of ours.
    sphn_granules = [p.granule for p in parse_pages(sphn_stream)[2:]]
    pairs = len(packets) // 2
    assert [p.granule for p in audio[:pairs]] == sphn_granules[1::2][:pairs]


def test_sphn_decodes_what_the_client_wrote(sphn_stream: bytes) -> None:
    packets = audio_packets(sphn_stream)
    written = mux(packets, 7)

    ours, rate = sphn.read_opus_bytes(written)
    reference, reference_rate = sphn.read_opus_bytes(sphn_stream)
    assert rate == reference_rate
    ours = np.asarray(ours, dtype=np.float32)[0]
    reference = np.asarray(reference, dtype=np.float32)[0]
    assert abs(len(ours) - len(reference)) <= 960
    correlation, lag = best_correlation(reference, ours)
    assert correlation > 0.99 and abs(lag) <= 960

    # And the decoded sound is the sweep that was encoded.
    original = sweep(2.0)
    resampled = sphn.resample(ours, src_sample_rate=rate, dst_sample_rate=RATE)
    correlation, _ = best_correlation(original, np.asarray(resampled, dtype=np.float32))
    assert correlation > 0.9


@pytest.mark.parametrize("chunk", ["1", "100", "100000"])
def test_client_reads_what_sphn_wrote(sphn_stream: bytes, chunk: str) -> None:
    found = json.loads(node("demux.mjs", sphn_stream, "--chunk", chunk))
    assert found["errors"] == 0
    assert found["pages"] == len(parse_pages(sphn_stream))
    assert found["head"]["channels"] == 1
    types = [item["type"] for item in found["items"]]
    assert types[:2] == ["head", "tags"] and set(types[2:]) == {"audio"}
    ours = [base64.b64decode(item["packet"]) for item in found["items"][2:]]
    assert ours == audio_packets(sphn_stream)
