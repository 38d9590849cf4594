"""``scenario6 bench batch``: the batched stepper timed for real with the tiny model, and its
figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scenario6.bench.batch import MIB, summarise
from scenario6.bench.catalog import BY_NAME
from scenario6.bench.probe import MAKE_VENV
from scenario6.bench.report import render_markdown
from scenario6.protocol.voices import DEFAULT_PERSONA
from tests.bench.results import MACHINE, batch_probe_output, results
from tests.bench.test_model import SILENCE_STEPS
from tests.bench.test_report import WHEN, _table_rows
from tests.support.personaplex import TinyPersonaPlex


def _bench_batch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scenario6", "bench", "batch", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,  # against a hang: it takes well under a minute here
        check=False,
    )


def _ordered(row: dict[str, float]) -> bool:
    return 0 < row["min_ms"] <= row["p50_ms"] <= row["p90_ms"] <= row["max_ms"]


def test_it_times_the_batched_engine_against_live_conversations(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    done = _bench_batch("--json", "--levels", "4,1,2", "--frames", "5")
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)  # one object, nothing else on stdout

    assert (result["model"], result["device"], result["lm_dtype"]) == ("tiny", "cpu", "bfloat16")
    assert result["python"] == str(tiny_personaplex.python)
    assert result["slots"] == 4  # as many as the largest level
    assert (result["auto_slots"], result["levels_skipped"]) == (None, [])  # a CPU holds any
    levels = result["levels"]
    assert [level["conversations"] for level in levels] == [1, 2, 4]
    assert result["frames"] == 5
    assert [len(result["samples_ms"][str(n)]) for n in (1, 2, 4)] == [5, 5, 5]
    # Then every level again with each conversation past the LM's context (upstream's 3000).
    assert result["lm_context_frames"] == 3000
    assert result["full_ring_fewest_steps"] >= 3000  # every ring full: each read whole
    assert [len(result["full_ring_samples_ms"][str(n)]) for n in (1, 2, 4)] == [5, 5, 5]
    for level in levels:
        full = level["full_ring"]
        assert _ordered(full) and level["full_ring_keeps_budget"] is (full["p90_ms"] <= 80)
    smallest = levels[0]["tick"]["p50_ms"]
    for level in levels:
        tick, count = level["tick"], level["conversations"]
        assert _ordered(tick)
        assert tick["budget_percent_p90"] == pytest.approx(tick["p90_ms"] / 80 * 100, abs=0.1)
        assert level["real_time_factor"] == pytest.approx(tick["p50_ms"] / 80, abs=0.001)
        assert level["per_conversation_ms"] == pytest.approx(tick["p50_ms"] / count, abs=0.001)
        assert level["vs_smallest"] == pytest.approx(tick["p50_ms"] / smallest, abs=0.001)
        assert level["keeps_budget"] is (tick["p90_ms"] <= 80)
        samples = result["samples_ms"][str(count)]
        assert level["frames_over_budget"] == sum(value > 80 for value in samples)
    assert levels[0]["vs_smallest"] == 1
    assert result["tick_ratio_8_to_1"] is None  # 8 was not a level
    kept = [level["conversations"] for level in levels if level["keeps_budget"]]
    assert result["max_conversations_within_budget"] == max(kept, default=None)

    # Each level's last conversation joined while the others talked, through the whole prompt
    # phase of the test model's voice prompt and the default persona, many LM steps a call.
    persona = result["persona"]
    assert persona["characters"] == len(DEFAULT_PERSONA) and persona["text_tokens"] > 0
    model_dir = tiny_personaplex.model_dir
    assert result["voice_prompt"]["file"] == str(model_dir / "voices" / "NATF2.pt")
    assert result["tokenizer"] == str(model_dir / "tokenizer_spm_32k_3.model")
    for level in levels:
        join = level["join"]
        assert join["others"] == level["conversations"] - 1
        voice = result["voice_prompt"]["frames"]
        assert join["steps"] == voice + SILENCE_STEPS + persona["text_tokens"]
        assert _ordered(join["step"])
        assert join["prompt_s"] >= join["steps"] * join["step"]["min_ms"] / 1000
        # The handshake waited for the prompt steps and for the others' frames between them.
        assert join["handshake_s"] >= join["prompt_s"] - 0.001
        if join["others"] == 0:
            assert join["others_frames"] == 0
            assert join["others_tick"] is join["others_answer"] is None
            continue
        # The others' audio kept arriving every 80 ms and was answered: a frame at once, then
        # one whenever the next was due, each answered a tick after it began, at the earliest.
        assert join["others_frames"] >= 1
        assert _ordered(join["others_tick"]) and _ordered(join["others_answer"])
        assert join["others_answer"]["p50_ms"] >= join["others_tick"]["p50_ms"]
        assert join["others_late_max_ms"] >= 0
        assert join["others_keep_budget"] is (join["others_answer"]["p90_ms"] <= 80)
        assert 0 <= join["others_held_max_ms"] <= join["others_held_ms"]

    memory = result["memory"]
    assert memory["measure"] == "rss"
    assert memory["slot_bytes_estimate"] > 64 * MIB  # KV-cache rows + the server's margin
    assert memory["state_per_slot_bytes"] == round(memory["engine_bytes"] / 4)
    assert memory["measured_slot_bytes"] == pytest.approx(
        memory["state_per_slot_bytes"] + memory["growth_per_conversation_bytes"], abs=1
    )


def test_the_text_shows_a_row_per_level_and_the_ratio_of_8_to_1(tmp_path: Path) -> None:
    # As printed by the batched backend image on a GPU host.
    raw = batch_probe_output() | {"device": "cuda", "device_name": "NVIDIA H200"}
    raw |= {"model": "full-size", "memory": raw["memory"] | {"measure": "cuda_allocated"}}
    raw |= {"auto_slots": 40, "levels_skipped": [64]}
    saved = tmp_path / "batch.json"
    saved.write_text(json.dumps(raw))
    done = _bench_batch("--probe-output", str(saved))
    assert done.returncode == 0, done.stderr
    assert "full-size model" in done.stdout
    assert "on cuda (NVIDIA H200); a stepper of 8 slots" in done.stdout
    rows = [line.split() for line in done.stdout.splitlines()]
    assert [
        "1",
        "19.60",
        "20.00",
        "20.40",
        "20.40",
        "20.00",
        "1.00",
        "0.25",
        "0/10",
        "kept",
        "1.50",
        "1.02",
    ] in rows
    assert [
        "8",
        "82.32",
        "84.00",
        "85.68",
        "85.68",
        "10.50",
        "4.20",
        "1.05",
        "10/10",
        "MISSED",
        "1.50",
        "1.02",
    ] in rows
    assert "tick(8) / tick(1) = 4.20 (medians): 8 conversations cost 4.20× one" in done.stdout
    assert "most conversations within the budget: 4" in done.stdout
    # A first-frame outlier after a join, and what the server's warm-up cost at start.
    assert "first÷p50: the slowest of the first 10 ticks after a conversation joined" in done.stdout
    assert "the server's warm-up took 3.2 s at start" in done.stdout
    # Against it, the slowest of as many later ticks: the machine's own jitter.
    assert "steady÷p50: the same for runs of 10 later ticks" in done.stdout
    capacity = "--slots auto would hold 40 conversations on this GPU; levels skipped for it: 64"
    assert capacity in done.stdout
    row = ["3", "112", "112", "15.00", "14.56", "2.40", "30", "38.00", "51.00", "14.50", "0.00"]
    assert row in rows
    assert "memory (cuda_allocated): 11.2 MiB per conversation" in done.stdout
    # The same levels once every conversation is past the LM's context: each ring full.
    assert "every conversation past the LM's context of 3000 frames (240 s)" in done.stdout
    assert ["8", "92.40", "94.25", "4.20", "MISSED", "84.00"] in rows
    assert ["1", "22.00", "22.44", "1.00", "kept", "20.00"] in rows
    assert "tick(8) / tick(1) with every ring full = 4.20 (medians)" in done.stdout
    assert "most conversations within the budget, rings full: 4" in done.stdout
    done = _bench_batch("--probe-output", str(saved), "--json")
    assert json.loads(done.stdout) == json.loads(json.dumps(summarise(raw)))


def test_the_report_shows_each_level_against_the_frame_budget() -> None:
    markdown = render_markdown(results(), MACHINE, WHEN)
    rows = _table_rows(markdown, BY_NAME["batch"].title)
    assert rows["tick, 1 conversation"] == [
        "19.6 ms", "20.0 ms", "20.4 ms", "10 ticks",
        "p90 20.4 ms, keeps the 80 ms budget; 20.0 ms a conversation",
    ]  # fmt: skip
    assert rows["tick, 8 conversations"][4].startswith("p90 85.7 ms, misses the 80 ms budget")
    assert rows["tick with 8 conversations ÷ tick with 1"][1] == "4.20"
    past = rows["tick, 8 conversations past the LM's 240 s context"]
    assert past == [
        "90.6 ms", "92.4 ms", "94.2 ms", "10 ticks",
        "p90 94.2 ms, misses the 80 ms budget; every ring full",
    ]  # fmt: skip
    assert rows["tick with 8 conversations ÷ tick with 1, past the LM's 240 s context"][1] == "4.20"
    alone = rows["time to handshake, beside 0 live conversations"]
    assert alone == [
        "—",
        "1.64 s",
        "—",
        "1 session",
        "112 LM steps in 112 calls, median 14.6 ms a step",
    ]
    joining = rows["time to handshake, beside 7 live conversations"]
    assert joining[1:] == [
        "2.40 s", "—", "1 session",
        "112 LM steps in 112 calls, median 14.6 ms a step; meanwhile the others' audio "
        "answered within 91.0 ms (p90), their frames up to 14.5 ms late",
    ]  # fmt: skip
    memory = rows["memory one more conversation takes (resident memory)"]
    assert memory[1:] == ["11.2 MiB", "—", "1 run", "the server's estimate per slot 66.9 MiB"]
    section = markdown.split(f"## {BY_NAME['batch'].title}", 1)[1]
    assert "Most conversations whose p90 tick keeps the 80 ms budget: **4**" in section
    assert "once every conversation is past the LM's context, **4**" in section
    assert "tiny model (9.7 M-parameter LM, bfloat16) on the CPU, 1 torch thread(s)" in section


@pytest.mark.parametrize("content", ["[]", "{}", '{"frame_budget_ms": 80, "levels": []}'])
def test_a_file_that_is_no_probe_output_is_refused_in_one_line(
    tmp_path: Path, content: str
) -> None:
    saved = tmp_path / "batch.json"
    saved.write_text(content)
    done = _bench_batch("--probe-output", str(saved))
    assert done.returncode == 2
    assert "is not a probe's output" in done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize("levels", ["0,2", "two", "1,,x"])
def test_levels_that_are_no_counts_are_refused_in_one_line(levels: str) -> None:
    done = _bench_batch("--levels", levels, "--python", sys.executable)
    assert done.returncode == 2
    assert done.stdout.startswith("scenario6 bench batch: --levels ")
    assert "Traceback" not in done.stdout + done.stderr


def test_without_an_interpreter_it_says_how_to_get_one(tmp_path: Path) -> None:
    done = _bench_batch(env={"XDG_CACHE_HOME": str(tmp_path)})  # no test-support venv there
    assert done.returncode == 2
    assert MAKE_VENV in done.stdout and "--python" in done.stdout


def test_a_frame_count_below_one_is_refused_before_anything_runs() -> None:
    done = _bench_batch("--frames", "0", "--python", sys.executable)
    assert done.returncode == 2
    assert "--frames: must be a whole number of at least 1, not '0'" in done.stderr


def test_an_interpreter_that_prints_no_figures_is_named_in_one_line() -> None:
    done = _bench_batch("--python", "/bin/true", "--levels", "1", "--frames", "1")
    assert done.returncode == 1, done.stdout + done.stderr  # it ran, and failed
    assert "printed no JSON object" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
