"""On a CPU the batched step attends over only the part of the ring its rows have filled, in
whole blocks of torch's attention kernel; that must change no bit of any row's output."""

from __future__ import annotations

from tests.personaplex.scenarios import run_scenario
from tests.support.personaplex import TinyPersonaPlex


def test_attending_over_the_filled_blocks_is_the_whole_ring_bit_for_bit(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    result = run_scenario(tiny_personaplex, "tests.personaplex.batched_attention")
    cases = result["cases"]
    spans = {case["span"] for case in cases}
    # Every block count is tried, and the whole ring once the keys reach its last block.
    assert spans == {512, 1024, 1536, 2048, 2560, result["context"]}, spans
    for case in cases:
        assert case["same_output"], f"{case}: over {case['span']} slots"
        assert case["same_cache"], f"{case}: the cache left differs"
    # Paused rows and passes of many steps (a prompt phase's) are among them.
    assert any(case["paused"] for case in cases) and any(case["length"] > 1 for case in cases)
    # The comparison can tell: one block fewer leaves out keys some row holds.
    shorter = [case for case in cases if "one_block_fewer_differs" in case]
    assert shorter and all(case["one_block_fewer_differs"] for case in shorter)
