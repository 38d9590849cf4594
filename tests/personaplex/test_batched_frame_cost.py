"""A frame's work does not grow with the conversations in it, beyond their own arithmetic.

On one CPU thread the tiny model is dispatch-bound, and on a GPU every operation is a kernel
launch: what one more live conversation adds to a frame is best seen in the operations the
frame dispatches. Each conversation's rows ride in the frame's batched operations (codec,
token cache, temporal and depth transformers, sampling); what is left per conversation is its
noise drawn from its own generator and its share of the answers.
"""

from __future__ import annotations

from tests.personaplex.scenarios import run_scenario
from tests.support.personaplex import TinyPersonaPlex

# Per extra conversation: its noise draw and its slice of the answer, with a little room.
MOST_PER_CONVERSATION = 4


def test_one_more_conversation_adds_almost_no_operations(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    result = run_scenario(
        tiny_personaplex, "tests.personaplex.batched_ops", str(tiny_personaplex.model_dir)
    )
    operations = {int(level): count for level, count in result["operations"].items()}
    print("operations a frame dispatches, by live conversations:", operations)
    print("per conversation:", result["per_conversation"])
    # From two on: one conversation alone takes torch's one-row path for Mimi's convolutions.
    low, high = sorted(operations)[1], max(operations)
    added = (operations[high] - operations[low]) / (high - low)
    assert added <= MOST_PER_CONVERSATION, (
        f"each conversation adds {added:.0f} operations to a frame: {result['per_conversation']}"
    )
