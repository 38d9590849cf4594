"""When a batched frame is what the conversation returned alone.

The tokens (text, the model's audio codebooks and the user's, as Mimi encoded them) must be
identical. The decoded audio may differ by float32 rounding: Mimi decodes all slots in one
call, and the CPU's convolution kernels sum in another order at another batch size (bits
apart, about 1e-7 here). A slot given another's decoder state is off by far more.
"""

from __future__ import annotations

from typing import Any

PCM_TOLERANCE = 1e-5


def same_frame(mine: Any, reference: Any) -> bool:
    """Frames as ``batched_scenario.record`` writes them: ``None`` or tokens and samples."""
    if mine is None or reference is None:
        return mine is reference
    if mine["tokens"] != reference["tokens"] or len(mine["pcm"]) != len(reference["pcm"]):
        return False
    pairs = zip(mine["pcm"], reference["pcm"], strict=True)
    return all(abs(a - b) <= PCM_TOLERANCE for a, b in pairs)
