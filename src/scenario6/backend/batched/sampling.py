"""Each slot's tokens drawn from the slot's own random generator, several slots at a time.

Upstream samples a batch with one draw from the process's generator, so a conversation's
tokens would depend on who else is in the batch. Here the arithmetic (temperature, softmax,
top-k, the exponential race upstream uses instead of ``torch.multinomial``) runs once for the
rows that share settings, and each row's noise comes from its slot's generator with exactly the
draws upstream makes for a batch of one: a slot seeded like upstream's server draws the same
tokens as upstream's server would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Sampling:
    """One slot's sampling settings (upstream's LMGen attributes of the same names)."""

    use_sampling: bool = True
    temp: float = 0.8
    temp_text: float = 0.7
    top_k: int = 250
    top_k_text: int = 25


UPSTREAM = Sampling()  # upstream's server never changes them


def sample_rows(
    logits: torch.Tensor,
    settings: Sequence[tuple[float, int]],
    generators: Sequence[torch.Generator],
    use_sampling: Sequence[bool],
) -> torch.Tensor:
    """Row ``b`` of ``logits`` (``[n, card]``) sampled at temperature and top-k
    ``settings[b]`` with ``generators[b]``; ``[n]`` token ids."""
    n = logits.shape[0]
    out = torch.empty(n, dtype=torch.long, device=logits.device)
    groups: dict[tuple[float, int, bool], list[int]] = {}
    for row in range(n):
        temp, top_k = settings[row]
        sampled = use_sampling[row] and temp > 0.0
        groups.setdefault((temp, top_k, sampled), []).append(row)
    for (temp, top_k, sampled), rows in groups.items():
        index = torch.tensor(rows, device=logits.device)
        part = logits.index_select(0, index).float()
        if not sampled:
            out[index] = part.argmax(dim=-1)
            continue
        probs = torch.softmax(part / temp, dim=-1)
        if top_k > 0:
            probs, ids = torch.topk(probs, top_k, dim=-1)
        else:
            ids = None
        noise = torch.cat(
            [
                torch.empty_like(probs[i : i + 1]).exponential_(1, generator=generators[row])
                for i, row in enumerate(rows)
            ]
        )
        choice = (probs / noise).argmax(dim=-1, keepdim=True)
        out[index] = (ids.gather(-1, choice) if ids is not None else choice)[:, 0]
    return out
