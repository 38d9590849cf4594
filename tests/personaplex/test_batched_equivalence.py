"""Batching changes nothing: a conversation on the batched engine returns, frame for frame,
the tokens and audio it returns alone on upstream's single-session code.

The scenario (tests/personaplex/batched_scenario.py) runs in the tiny model's interpreter:
four conversations with their own seeds, voices and personas join at different frames, one
pauses now and then, two leave early and a late one reuses a freed slot. Any state that
leaked between slots (a KV-cache row, a position, the token cache, Mimi's state, the random
generator) would change some later frame of some conversation.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.personaplex.scenarios import (
    assert_batched_equals_alone,
    run_scenario,
    slots_held,
)
from tests.support.personaplex import TinyPersonaPlex


@pytest.fixture(scope="module")
def scenario(tiny_personaplex: TinyPersonaPlex) -> dict[str, Any]:
    return run_scenario(
        tiny_personaplex, "tests.personaplex.batched_scenario", str(tiny_personaplex.model_dir)
    )


def test_every_conversation_returns_what_it_returns_alone(scenario: dict[str, Any]) -> None:
    assert_batched_equals_alone(scenario)


def test_the_scenario_exercises_what_could_leak(scenario: dict[str, Any]) -> None:
    """It would prove nothing if the conversations all said the same, never overlapped or
    never reused a slot."""
    answers = {
        name: [frame["tokens"] for frame in frames if frame is not None]
        for name, frames in scenario["alone"].items()
    }
    assert all(len(tokens) >= 8 for tokens in answers.values())
    assert answers["a"][:8] != answers["b"][:8] != answers["c"][:8]
    occupancy = scenario["occupancy"]
    assert max(len(busy) for busy in occupancy) == 3, "three conversations at once"
    slots_of = slots_held(occupancy)
    assert slots_of["d"] & (slots_of["a"] | slots_of["c"]), "the late one reuses a freed slot"
