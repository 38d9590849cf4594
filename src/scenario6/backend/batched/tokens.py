"""The live slots' token caches as rows of one tensor, read and written for all of them at once.

Upstream's ``LMGen`` keeps a short ring of tokens per conversation (``_LMGenState``: the
tokens of the last few steps, which of them were given rather than sampled, and the step
count): the user's tokens go in at their codebook's delay, the model's input is the previous
step, and a step's tokens come out once every codebook's delay has passed. A slot's prompt
phase runs upstream's code on the slot's own state; when it goes live, that state is loaded
into the slot's row here, and each frame then does upstream's bookkeeping for every stepping
row in a few batched operations instead of a few dozen per slot, with the counters on the
device (no host copy a frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

USER_CODEBOOKS = 8  # upstream's AUDIO_TOKENS_PER_STREAM: the user's stream, after the model's


@dataclass(frozen=True)
class Step:
    """A frame's token-cache reads for the stepping rows: the model's input for every row
    ``0..n-1`` (``[n, K, 1]``), and for the stepping rows the tokens already known at the
    step's target (``[m, K]``), which of them were given, and the rows' step counts."""

    inputs: torch.Tensor
    target: torch.Tensor
    provided: torch.Tensor
    offsets: torch.Tensor


class Tokens:
    """``count`` rows of upstream's token cache for ``lm_gen``."""

    def __init__(self, lm_gen: Any, count: int) -> None:
        lm = lm_gen.lm_model
        state = lm_gen._init_streaming_state(1)
        codebooks, width = state.cache.shape[1:]
        if codebooks != lm.dep_q + 1:
            raise ValueError("the token cache holds the text and the depth transformer's tokens")
        device = state.cache.device
        self.width = width
        self.max_delay = lm_gen.max_delay
        self.cache = state.cache.new_zeros(count, codebooks, width)
        self.provided = state.provided.new_zeros(count, codebooks, width)
        self.offsets = torch.zeros(count, dtype=torch.long, device=device)
        delays = torch.tensor(lm.delays, dtype=torch.long, device=device)
        self.delays = delays[None, :]
        self.codebooks = torch.arange(codebooks, device=device)[None, :]
        self.user = self.codebooks[:, -USER_CODEBOOKS:]
        self.user_delays = self.delays[:, -USER_CODEBOOKS:]

    def load(self, row: int, state: Any) -> None:
        """``row`` holds ``state`` (a slot's ``_LMGenState`` after its prompt phase)."""
        if state.offset <= self.max_delay:
            raise ValueError("a live slot's token cache is past the model's delays")
        self.cache[row] = state.cache[0]
        self.provided[row] = state.provided[0]
        self.offsets[row] = state.offset

    def swap(self, a: int, b: int) -> None:
        """Exchange the contents of rows ``a`` and ``b``."""
        for tensor in (self.cache, self.provided, self.offsets):
            kept = tensor[a].clone()
            tensor[a].copy_(tensor[b])
            tensor[b].copy_(kept)

    def prepare(self, codes: torch.Tensor, moving: torch.Tensor) -> Step:
        """Upstream's ``prepare_step_input`` for the ``moving`` rows, given the user's
        ``codes`` for rows ``0..n-1`` (``[n, 8, 1]``)."""
        n = codes.shape[0]
        offsets = self.offsets[moving]
        rows = moving[:, None]
        written = (offsets[:, None] + self.user_delays) % self.width
        self.cache[rows, self.user, written] = codes.index_select(0, moving)[:, :, 0]
        self.provided[rows, self.user, written] = True
        # Every live row's previous step; a paused row's input is computed and discarded.
        previous = (self.offsets[:n, None] - 1) % self.width
        inputs = self.cache[:n].gather(2, previous.expand(-1, self.codebooks.shape[1])[..., None])
        target = (offsets % self.width)[:, None]
        return Step(
            inputs,
            self.cache[rows, self.codebooks, target],
            self.provided[rows, self.codebooks, target],
            offsets,
        )

    def commit(
        self, step: Step, moving: torch.Tensor, text: torch.Tensor, audio: torch.Tensor
    ) -> torch.Tensor:
        """The ``moving`` rows' sampled ``text`` (``[m]``) and ``audio`` (``[m, dep_q]``)
        tokens into their caches where nothing was given, and the step that every delay
        has now passed (``[m, K]``): upstream's bookkeeping after its depth transformer."""
        rows = moving[:, None]
        previous = ((step.offsets - 1) % self.width)[:, None]
        self.provided[rows, self.codebooks, previous] = False
        target = (step.offsets % self.width)[:, None]
        sampled = torch.cat([text[:, None], audio], dim=1)
        self.cache[rows, self.codebooks, target] = torch.where(step.provided, step.target, sampled)
        complete = (step.offsets[:, None] - self.max_delay + self.delays) % self.width
        self.offsets[moving] += 1
        return self.cache[rows, self.codebooks, complete]
