"""``scenario6 bench model``: the real PersonaPlex models timed for real, and their figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scenario6.bench.catalog import BY_NAME
from scenario6.bench.figures import NOT_MEASURED
from scenario6.bench.model import PARTS, summarise
from scenario6.bench.probe import MAKE_VENV
from scenario6.bench.report import render_markdown
from scenario6.protocol.voices import DEFAULT_PERSONA, PERSONA_MAX_CHARS
from tests.bench.results import MACHINE, probe_output, results
from tests.bench.test_report import WHEN, _table_rows
from tests.support.personaplex import TinyPersonaPlex

# Before the persona and after it, the server steps through 0.5 s of silence: 6 frames.
SILENCE_STEPS = 2 * 6


def _bench_model(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scenario6", "bench", "model", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,  # against a hang: it takes well under a minute here
        check=False,
    )


def test_it_times_the_real_servers_models_on_this_machine(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    done = _bench_model("--json", "--frames", "6")
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)  # one object, nothing else on stdout

    assert (result["model"], result["device"], result["lm_dtype"]) == ("tiny", "cpu", "bfloat16")
    assert result["python"] == str(tiny_personaplex.python)
    assert result["lm_parameters"] > result["mimi_parameters"] > 0
    samples = result["samples_ms"]
    assert result["frames"] == 6
    assert all(len(samples[name]) == 6 for name in [*PARTS, "frame"])
    for row in [*result["parts"].values(), result["frame"]]:
        assert 0 < row["min_ms"] <= row["p50_ms"] <= row["p90_ms"] <= row["max_ms"]
        assert row["budget_percent_p50"] == pytest.approx(row["p50_ms"] / 80 * 100, abs=0.1)
    # Each frame's time covers its parts, which were timed inside it.
    for index, whole in enumerate(samples["frame"]):
        assert whole >= sum(samples[name][index] for name in PARTS) - 0.001
    assert result["frame"]["min_ms"] >= sum(row["min_ms"] for row in result["parts"].values())
    assert result["real_time_factor"] == pytest.approx(result["frame"]["p50_ms"] / 80, abs=0.001)
    over = sum(value > 80 for value in samples["frame"])
    assert result["frames_over_budget"] == over

    # The prompt phase reads the test model's own voice prompt and tokenizer.
    model_dir = tiny_personaplex.model_dir
    assert result["voice_prompt"]["file"] == str(model_dir / "voices" / "NATF2.pt")
    assert result["tokenizer"] == str(model_dir / "tokenizer_spm_32k_3.model")
    short, long = result["handshakes"]
    assert (short["persona"], short["characters"]) == ("short", len(DEFAULT_PERSONA))
    assert (long["persona"], long["characters"]) == ("long", PERSONA_MAX_CHARS)
    assert 0 < short["text_tokens"] < long["text_tokens"]
    for shake in (short, long):
        # One LM step per voice frame, per silent frame and per persona token.
        voice = result["voice_prompt"]["frames"]
        assert shake["steps"] == voice + SILENCE_STEPS + shake["text_tokens"]
        assert shake["seconds"] > shake["liveness_wait_s"] > 0


def test_without_an_interpreter_it_says_how_to_get_one(tmp_path: Path) -> None:
    # An empty cache: the test-support venv is not built there.
    done = _bench_model(env={"XDG_CACHE_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert MAKE_VENV in done.stdout and "--python" in done.stdout
    done = _bench_model("--python", str(tmp_path / "nowhere" / "python"))
    assert done.returncode == 2
    assert "no such interpreter" in done.stdout


def test_the_report_shows_each_part_against_the_frame_budget() -> None:
    markdown = render_markdown(results(), MACHINE, WHEN)
    rows = _table_rows(markdown, BY_NAME["model"].title)
    assert rows["2 × Mimi encode"] == [
        "6.20 ms", "6.40 ms", "9.80 ms", "10 frames", "p90 7.10 ms; median 8 % of the 80 ms budget",
    ]  # fmt: skip
    assert rows["whole frame"][:4] == ["25.7 ms", "26.5 ms", "49.0 ms", "10 frames"]
    assert rows["real-time factor (median frame ÷ 80 ms)"] == [
        "—", "0.331", "—", "10 frames", "0 of 10 frames over budget",
    ]  # fmt: skip
    assert rows["time to handshake, long persona (1000 characters)"] == [
        "—", "14.2 s", "—", "1 session",
        "503 text tokens, 528 LM steps, of which 5.77 s in the server's liveness checks",
    ]  # fmt: skip
    section = markdown.split(f"## {BY_NAME['model'].title}", 1)[1]
    assert "tiny model (9.7 M-parameter LM, bfloat16) on the CPU, 1 torch thread(s)" in section
    assert "torch 2.13.0+cpu" in section
    assert "voice prompt: 13 frames, NATF2.pt; persona tokens: tokenizer tokenizer_spm" in section


def test_a_probe_run_elsewhere_is_summarised_here(tmp_path: Path) -> None:
    # As printed by the backend image on a GPU host, with neither a tokenizer nor voices.
    raw = probe_output() | {"device": "cuda", "device_name": "NVIDIA H200", "model": "full-size"}
    raw |= {"voice_prompt": {"frames": 100, "file": None}, "tokenizer": None}
    saved = tmp_path / "probe.json"
    saved.write_text(json.dumps(raw))
    done = _bench_model("--probe-output", str(saved))
    assert done.returncode == 0, done.stderr
    assert "full-size model" in done.stdout and "on cuda (NVIDIA H200)" in done.stdout
    assert "100 frames, random embeddings (no voice file)" in done.stdout
    assert "estimated at 4 characters a token (no tokenizer)" in done.stdout
    real_time = "real-time factor 0.331 (median frame / budget); 0 of 10 frames over budget"
    assert real_time in done.stdout
    done = _bench_model("--probe-output", str(saved), "--json")
    assert json.loads(done.stdout) == json.loads(json.dumps(summarise(raw)))


@pytest.mark.parametrize("content", ["not json", "{}", '{"frames": "x"}'])
def test_a_file_that_is_no_probe_output_is_refused_in_one_line(
    tmp_path: Path, content: str
) -> None:
    saved = tmp_path / "probe.json"
    saved.write_text(content)
    done = _bench_model("--probe-output", str(saved))
    assert done.returncode == 2
    assert "is not a probe's output" in done.stdout and "Traceback" not in done.stderr


def test_without_an_interpreter_the_report_says_why() -> None:
    why = f"no interpreter with torch and PersonaPlex's moshi (make it with `{MAKE_VENV}`)"
    markdown = render_markdown(results() | {"model": {NOT_MEASURED: why}}, MACHINE, WHEN)
    rows = _table_rows(markdown, BY_NAME["model"].title)
    assert rows == {"every figure": ["", f"not measured: {why}", "", "", ""]}
