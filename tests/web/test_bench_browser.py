"""``scenario6 bench browser`` keeps working: a short run in its own process (it drives its own
Playwright, which cannot share a process with the browser tests' one)."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from scenario6.bench.browser import CHROMIUM, summarize, voice_like_wav
from tests.conftest import require_tool


def test_voice_like_signal_has_syllables_and_pauses(tmp_path: Path) -> None:
    path = voice_like_wav(tmp_path / "voice.wav", seconds=3.0)
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (48000, 1, 2)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32)
    assert len(pcm) == 3 * 48000
    windows = np.sqrt(np.mean(pcm[: len(pcm) // 480 * 480].reshape(-1, 480) ** 2, axis=1))
    loud, quiet = np.mean(windows > 1000), np.mean(windows < 10)
    assert 0.3 < loud < 0.9 and quiet > 0.1


def test_summary_figures() -> None:
    assert summarize([]) is None
    expected = {"count": 3, "min_ms": 1.0, "median_ms": 2.0, "max_ms": 3.0}
    assert summarize([3.0, 1.0, 2.0]) == expected


@pytest.mark.browser
def test_a_short_benchmark_run_measures_every_figure() -> None:
    require_tool("chromium", CHROMIUM)
    code = "import json; from scenario6.bench.browser import measure; "
    code += "print(json.dumps(measure(6.0, warm_up=1.0)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    for name in ("micToWire", "wireToSpeaker", "roundTrip"):
        assert figures["figures"][name] is not None, (name, figures)
    assert figures["played_seconds"] > 3
    assert figures["audio_messages"]["sent"] > 0
