"""The batched server's warm-up leaves nothing for a live frame to build.

On a CPU, oneDNN builds a kernel for every new shape of convolution and matrix product and
keeps only the most recent ones; the warm-up of 48 slots builds about 1,430 (about 30 per batch
size), and with oneDNN's default cache of 1,024 the live frames rebuilt 32 kernels at every
batch size.
"""

from __future__ import annotations

from tests.personaplex.scenarios import run_scenario
from tests.support.personaplex import TinyPersonaPlex

SLOTS = 48  # enough that the warm-up's kernels outnumber oneDNN's default cache


def test_no_live_frame_builds_a_kernel_at_any_batch_size(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    arguments = ["--device", "cpu", "--slots", str(SLOTS), *tiny_personaplex.flat_arguments()]
    result = run_scenario(tiny_personaplex, "tests.personaplex.batched_kernels", *arguments)
    print("kernels built:", result)
    assert result["slots"] == SLOTS
    # The count itself works: warm-up builds every kernel the frames use.
    assert result["warm_up"] > 0
    built = {size: count for size, count in result["frames"].items() if count}
    assert set(result["frames"]) == {str(size) for size in range(1, SLOTS + 1)}
    assert not built, (
        f"live frames built kernels (batch size: kernels) {built}; "
        f"oneDNN's kernel cache held {result['kernel_cache']}"
    )
