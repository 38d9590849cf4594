"""Calls longer than the model's context, on the tiny model with a context of 4 s.

PersonaPlex's LM attends to its last 3000 frames (4 minutes) through a ring KV cache, and
Mimi's transformers to their last 250 steps (10 s); past that the rings wrap and the oldest
entries are overwritten. With the short-context variant of the tiny model (50 frames, 20
Mimi steps) every ring wraps several times within seconds: upstream's server and the batched
one keep talking through the proxy, and the batched stepper stays equal to upstream.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.personaplex.scenarios import (
    assert_batched_equals_alone,
    run_scenario,
    slots_held,
)
from tests.personaplex.talk import HANDSHAKE_TIMEOUT_S, frames_out
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.personaplex import BATCHED, UPSTREAM, TinyPersonaPlex, personaplex_server
from tests.support.personaplex.tiny import SHORT_LM_CONTEXT, SHORT_MIMI_CONTEXT
from tests.support.servers import frontend_server

CONTEXTS = 3  # how many LM contexts of conversation the call lasts, prompts not counted
CHUNK = 25  # frames sent between two checks that the answer kept up (2 s)
LAG = 3  # frames the answer may trail by: the Ogg pages in flight


@pytest.fixture(scope="module")
def short(tiny_personaplex: TinyPersonaPlex) -> TinyPersonaPlex:
    return tiny_personaplex.short_context().ensure()


@pytest.fixture(scope="module", params=[UPSTREAM, BATCHED], ids=["personaplex", "batched"])
def short_backend(request: pytest.FixtureRequest, short: TinyPersonaPlex) -> Iterator[str]:
    """The chat URL of upstream's server or the batched one, with the short contexts."""
    arguments = ["--slots", "2"] if request.param == BATCHED else []
    with personaplex_server(short, arguments=arguments, module=request.param) as server:
        yield server.url


async def test_a_call_several_contexts_long_keeps_its_audio_flowing(short_backend: str) -> None:
    messages = encode_messages(sweep(CONTEXTS * SHORT_LM_CONTEXT * 0.08))
    trailing = []
    async with (
        frontend_server(moshi_ws_url=short_backend) as fe,
        conversation(fe.chat_url(events="1")) as talk,
    ):
        await talk.wait_for(talk.handshake.is_set, HANDSHAKE_TIMEOUT_S)
        for sent in range(CHUNK, len(messages) + CHUNK, CHUNK):
            await talk.send_audio(messages[sent - CHUNK : sent])  # at 80 ms a frame
            done_sending = time.monotonic()
            # A hang guard: the answer trails by a frame or two, not seconds.
            expected = min(sent, len(messages)) - LAG
            await talk.wait_for(lambda: frames_out(talk) >= expected, 30)  # noqa: B023
            trailing.append(time.monotonic() - done_sending)
            assert not talk.closed.is_set(), (talk.close_code, talk.close_reason)
    assert talk.events_of("error") == []
    print(f"\n{len(messages)} frames answered, each 2 s of audio within {max(trailing):.2f} s")


@pytest.fixture(scope="module")
def scenario(short: TinyPersonaPlex) -> dict[str, Any]:
    return run_scenario(
        short, "tests.personaplex.long_scenario", str(short.model_dir), str(short.architecture)
    )


def test_past_the_wrap_every_conversation_returns_what_it_returns_alone(
    scenario: dict[str, Any],
) -> None:
    assert_batched_equals_alone(scenario)


def test_the_long_scenario_wraps_every_ring(scenario: dict[str, Any]) -> None:
    """It would prove nothing if the short contexts were not in effect, or a call ended
    before its ring wrapped."""
    assert scenario["contexts"] == {"lm": [SHORT_LM_CONTEXT], "mimi": [SHORT_MIMI_CONTEXT]}
    assert all(len(frames) > SHORT_LM_CONTEXT for frames in scenario["alone"].values())
    assert max(scenario["prompt_steps"].values()) > SHORT_LM_CONTEXT, "a prompt phase wraps"
    unwrapped = scenario["unwrapped"]
    assert unwrapped != scenario["alone"]["a"][: len(unwrapped)], "short contexts change it"
    occupancy = scenario["occupancy"]
    assert max(len(busy) for busy in occupancy) == 3, "three conversations at once"
    slots_of = slots_held(occupancy)
    assert slots_of["d"] & slots_of["c"], "the late one takes a slot whose ring has wrapped"
