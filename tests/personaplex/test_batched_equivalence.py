"""Batching changes nothing: a conversation on the batched stepper returns, frame for frame,
the tokens and audio it returns alone on upstream's single-session code.

The scenario (tests/personaplex/batched_scenario.py) runs in the tiny model's interpreter:
six conversations with their own seeds, voices (one a .wav), personas and sampling settings
join at different frames, three prompt at once, one hangs up during its prompt phase, one
pauses now and then, two leave early and late ones reuse freed slots. Any state that leaked between
slots (a KV-cache row, a position, the token cache, Mimi's state, the random generator, the
sampling settings) would change some later frame of some conversation, and so would a prompt
phase that skipped upstream's random draws: the scenario patches each of those leaks into the
stepper in turn and records where it first shows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.personaplex.scenarios import assert_batched_equals_alone, run_scenario, slots_held
from tests.support.personaplex import TinyPersonaPlex

# The leaks the proof claims to catch (tests/personaplex/batched_mutants.py patches each in).
LEAKS = (
    "sampling-settings",
    "encoder-state",
    "decoder-state",
    "random-generator",
    "cache-offsets",
    "positions",
    "paused-rows-advanced",
    "token-cache",
    "prompt-draws",
)


@pytest.fixture(scope="module")
def scenario(tiny_personaplex: TinyPersonaPlex) -> dict[str, Any]:
    result = run_scenario(
        tiny_personaplex, "tests.personaplex.batched_scenario", str(tiny_personaplex.model_dir)
    )
    print("scenario seconds:", result["seconds"])
    return result


def test_every_conversation_returns_what_it_returns_alone(scenario: dict[str, Any]) -> None:
    assert_batched_equals_alone(scenario)


def test_the_scenario_exercises_what_could_leak(scenario: dict[str, Any]) -> None:
    """It would prove nothing if the conversations all said the same, sampled alike, never
    overlapped, never reused a slot or never left one mid-prompt."""
    answers = {
        name: [frame["tokens"] for frame in frames if frame is not None]
        for name, frames in scenario["alone"].items()
        if frames
    }
    assert all(len(tokens) >= 8 for tokens in answers.values())
    assert answers["a"][:8] != answers["b"][:8] != answers["c"][:8]
    settings = [json.dumps(s, sort_keys=True) for s in scenario["sampling"].values()]
    assert len(set(settings)) >= 4, "the conversations ask for different sampling settings"
    occupancy = scenario["occupancy"]
    assert max(len(busy) for busy in occupancy) == 3, "three conversations at once"
    assert max(scenario["prompting"]) == 3, "three slots in their prompt phase at once"
    assert scenario["left_prompting"] == ["e"], "one hangs up before its handshake"
    slots_of = slots_held(occupancy)
    assert slots_of["c"] & slots_of["e"], "a slot left mid-prompt is reused"
    assert slots_of["d"] & (slots_of["a"] | slots_of["c"]), "the late one reuses a freed slot"


def test_the_codec_state_matters(scenario: dict[str, Any]) -> None:
    """The same audio after two different pasts encodes to other codes, and the same codes
    decode to other samples: a slot handed another's codec state would say something else.
    (The tiny model's own codec forgets at once; it is printed for comparison.)"""
    codec = scenario["codec"]
    print("frames that differ after another past:", codec)
    remembering = codec["remembering"]
    assert remembering["encoder"] >= remembering["frames"] // 2
    assert remembering["decoder"] == remembering["frames"]


@pytest.mark.parametrize("leak", LEAKS)
def test_each_leak_is_caught(scenario: dict[str, Any], leak: str) -> None:
    """Patched into the stepper, the leak changes some conversation's output (or breaks the
    stepper outright, which the equivalence run would report as loudly)."""
    verdict = scenario["mutants"][leak]
    print(leak, verdict)
    assert verdict["differs"] or verdict.get("error"), f"{leak} leaves every output unchanged"
