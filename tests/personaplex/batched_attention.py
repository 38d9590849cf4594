"""The batched attention over part of the ring against the whole ring, in the tiny model's
interpreter (it needs torch and PersonaPlex's ``moshi``)::

    python -m tests.personaplex.batched_attention

Upstream's attention layer (the tiny LM's sizes and context, bfloat16) steps a batch of rows
whose rings hold keys up to different slots, either side of the CPU kernel's block edges, over
stale keys a previous conversation left in the rest of the ring; some rows paused, some passes
many steps long (a prompt phase's). Each case runs twice from the
same state: over :func:`key_span`'s slots, and with ``key_span`` patched to the whole ring. It
prints one JSON object: per case, whether the outputs and the caches left are the same bit for
bit, and, where the span is more than one block and no row is paused, whether attending over
one block fewer (keys a row holds left out) shows at all.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True)
class Case:
    """A batch of rows, ``steps[row]`` steps into their conversations, stepping ``length``
    steps in one pass (a prompt phase's pass when more than one), ``paused`` rows not."""

    steps: tuple[int, ...]
    length: int = 1
    paused: tuple[int, ...] = ()


# Young rows; rows that end a step either side of every block edge; a row that fills the last
# partial block; rings that have wrapped (the whole ring is read), alone or beside young ones;
# paused rows holding the most keys; prompt passes of many steps, across edges.
CASES = (
    Case((0, 1, 7)),
    Case((510, 511, 3, 200)),
    Case((512, 100, 0)),
    Case((513, 40, 1023, 2)),
    Case((1100, 6)),
    Case((1534, 2)),
    Case((1024, 1535, 1536, 9, 700, 12, 300, 64)),
    Case((2046, 5)),
    Case((2047, 5)),
    Case((2048, 1)),
    Case((2558, 3)),
    Case((2559, 2560, 10)),
    Case((2999, 5)),
    Case((3000, 4, 1)),
    Case((4321, 17, 600)),
    Case((700, 511, 2), paused=(0,)),
    Case((1536, 1000, 3), paused=(0, 2)),
    Case((3100, 20), paused=(0,)),
    Case((0,), length=64),
    Case((450,), length=64),
    Case((100,), length=800),
    Case((2000,), length=500),
    Case((10, 500), length=20),
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


def step(attention: Any, case: Case, altered: Alter = lambda span: span) -> tuple[Any, ...]:
    """One pass of ``case``'s rows over the span ``altered`` makes of the one
    :func:`key_span` gives: the outputs of the rows that moved, the cache it left, and the span
    the pass read."""
    n, head_dim = len(case.steps), DIM // HEADS
    generator = torch.Generator().manual_seed(n * 1000 + sum(case.steps) + case.length)
    shape = (2, n, HEADS, CONTEXT, head_dim)
    # The whole ring holds keys: those of a conversation before this one beyond each row's end.
    cache = torch.randn(shape, generator=generator).to(torch.bfloat16)
    x = torch.randn(n, case.length, DIM, generator=generator).to(torch.bfloat16)
    end = torch.tensor(case.steps, dtype=torch.long)
    position = end.clone()
    moving = torch.tensor([row for row in range(n) if row not in case.paused])
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
    return out[moving], cache, spans[0]


def main() -> int:
    torch.set_num_threads(1)
    attention = layer()
    cases = []
    for case in CASES:
        whole, whole_cache, _ = step(attention, case, lambda _: CONTEXT)
        part, part_cache, span = step(attention, case)
        result: dict[str, Any] = {
            **asdict(case),
            "span": span,
            "same_output": torch.equal(whole, part),
            "same_cache": torch.equal(whole_cache, part_cache),
        }
        # (Where a paused row holds the most keys, the moving rows may not need the last block.)
        if CPU_KEY_BLOCK < span < CONTEXT and not case.paused:
            short, _, _ = step(attention, case, lambda span: span - CPU_KEY_BLOCK)
            result["one_block_fewer_differs"] = not torch.equal(whole, short)
        cases.append(result)
    json.dump({"block": CPU_KEY_BLOCK, "context": CONTEXT, "cases": cases}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
