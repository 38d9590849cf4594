"""The batched attention over part of the ring against the whole ring, in the tiny model's
interpreter (it needs torch and PersonaPlex's ``moshi``)::

    python -m tests.personaplex.batched_attention

Upstream's attention layer (the tiny LM's sizes and context, bfloat16) steps a batch of rows
whose rings hold keys up to different slots, either side of the CPU kernel's block edges, over
stale keys a previous conversation left in the rest of the ring. Each case runs twice from the
same state: over :func:`key_span`'s slots, and with ``key_span`` patched to the whole ring. It
prints one JSON object: per case, whether the outputs and the caches left are the same bit for
bit, and, where the span is more than one block, whether attending over one block fewer (keys
a row holds left out) shows at all.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import torch
from moshi.modules.rope import RotaryEmbedding
from moshi.modules.transformer import StreamingMultiheadAttention

from scenario6.backend import architecture
from scenario6.backend.batched import attention as batched
from scenario6.backend.batched.attention import CPU_KEY_BLOCK, attend

CONTEXT = 3000  # upstream's LM context, which the tiny model keeps
HEADS = architecture.TINY["_lm_kwargs"]["num_heads"]
DIM = architecture.TINY["_lm_kwargs"]["dim"]
# The rows' steps so far, in batches: young rows, rows either side of a block edge, a row
# that fills the last partial block, rows whose ring has wrapped (the whole ring is read).
CASES = (
    [0, 1, 7],
    [510, 511, 3, 200],
    [512, 100, 0],
    [513, 40, 1023, 2],
    [1100, 6],
    [1024, 1535, 1536, 9, 700, 12, 300, 64],
    [2558, 3],
    [2559, 2560, 10],
    [2999, 5],
    [3000, 4, 1],
    [4321, 17, 600],
)

Alter = Callable[[int], int]


def layer() -> Any:
    torch.manual_seed(7)
    attention = StreamingMultiheadAttention(
        DIM,
        HEADS,
        causal=True,
        context=CONTEXT,
        rope=RotaryEmbedding(max_period=10_000),
        dtype=torch.bfloat16,
    )
    return attention.eval()


def step(attention: Any, steps: list[int], altered: Alter = lambda span: span) -> tuple[Any, ...]:
    """One step of every row, each ``steps[row]`` steps into its conversation, over the span
    ``altered`` makes of the one :func:`key_span` gives: the output, the cache it left, and
    the span the step read."""
    generator = torch.Generator().manual_seed(len(steps) * 1000 + sum(steps))
    n, head_dim = len(steps), DIM // HEADS
    shape = (2, n, HEADS, CONTEXT, head_dim)
    # The whole ring holds keys: those of a conversation before this one beyond each row's end.
    cache = torch.randn(shape, generator=generator).to(torch.bfloat16)
    x = torch.randn(n, 1, DIM, generator=generator).to(torch.bfloat16)
    end = torch.tensor(steps, dtype=torch.long)
    position = end.clone()
    moving = torch.arange(n)
    spans: list[int] = []
    chosen = batched.key_span

    def patched(end: torch.Tensor, capacity: int) -> int:
        spans.append(altered(chosen(end, capacity)))
        return spans[-1]

    batched.key_span = patched
    try:
        with torch.no_grad():
            out = attend(attention, x, cache, end, position, moving)
    finally:
        batched.key_span = chosen
    return out, cache, spans[0]


def main() -> int:
    torch.set_num_threads(1)
    attention = layer()
    cases = []
    for steps in CASES:
        whole, whole_cache, _ = step(attention, steps, lambda _: CONTEXT)
        part, part_cache, span = step(attention, steps)
        case: dict[str, Any] = {
            "steps": steps,
            "span": span,
            "same_output": torch.equal(whole, part),
            "same_cache": torch.equal(whole_cache, part_cache),
        }
        if CPU_KEY_BLOCK < span < CONTEXT:
            short, _, _ = step(attention, steps, lambda span: span - CPU_KEY_BLOCK)
            case["one_block_fewer_differs"] = not torch.equal(whole, short)
        cases.append(case)
    json.dump({"block": CPU_KEY_BLOCK, "context": CONTEXT, "cases": cases}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
