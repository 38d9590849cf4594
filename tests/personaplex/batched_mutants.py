"""Leaks patched into the batched stepper one at a time, to prove the scenario sees each.

A mutant is a context manager that changes the stepper's code in this process while it is
active: one slot's state becomes another's, or a setting every row's. The equivalence
scenario runs the batched stepper once under each (``batched_scenario.py``), and a mutant that
leaves every conversation's output unchanged is a leak the proof would miss.

Runs in the tiny model's interpreter, where the stepper runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from scenario6.backend.batched import stepper as stepper_module
from scenario6.backend.batched.codec import Codec
from scenario6.backend.batched.prompt import Phase
from scenario6.backend.batched.rows import Rows
from scenario6.backend.batched.sampling import Draws, Sampling
from scenario6.backend.batched.stepper import Stepper
from scenario6.backend.batched.tokens import Step, Tokens

# The parts of Mimi's streaming state that encode, and those that decode.
ENCODER = ("encoder", "encoder_transformer", "downsample")
DECODER = ("decoder", "decoder_transformer", "upsample")


@contextlib.contextmanager
def _replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    kept = owner.__dict__[name]
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, kept)


def _after_init(change: Callable[[Stepper], None]) -> contextlib.AbstractContextManager[None]:
    """Steppers built while active get ``change`` applied right after construction."""
    original = Stepper.__init__

    def init(self: Stepper, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        change(self)

    return _replaced(Stepper, "__init__", init)


def _shared_codec(parts: Sequence[str], method: str) -> contextlib.AbstractContextManager[None]:
    """Before every batched ``method`` (encode or decode), every row holds row 0's state for
    ``parts`` of Mimi, as one state for all slots would."""
    original = getattr(Codec, method)

    def call(self: Codec, x: torch.Tensor, moving: torch.Tensor) -> torch.Tensor:
        tensors = [rows for name, *_, rows, _ in self.carried if name.split(".")[0] in parts]
        transformer = self.encoder if method == "encode" else self.decoder
        for tensor in [*tensors, *transformer.tensors()]:
            tensor[: x.shape[0]] = tensor[0].clone()
        return original(self, x, moving)

    return _replaced(Codec, method, call)


def _shared_generator() -> contextlib.AbstractContextManager[None]:
    def share(stepper: Stepper) -> None:
        for slot in stepper.slots[1:]:
            slot.generator = stepper.slots[0].generator

    return _after_init(share)


def _shared_token_cache() -> contextlib.AbstractContextManager[None]:
    """One token cache (tokens, what was given, step count) for every live slot, as
    upstream keeps: before every frame, every row holds row 0's."""
    original = Tokens.prepare

    def prepare(self: Tokens, codes: torch.Tensor, moving: torch.Tensor) -> Step:
        for tensor in (self.cache, self.provided, self.offsets):
            tensor[: codes.shape[0]] = tensor[0].clone()
        return original(self, codes, moving)

    return _replaced(Tokens, "prepare", prepare)


def _first_rows_settings() -> contextlib.AbstractContextManager[None]:
    """Every row samples with the first stepping row's temperature and top-k."""

    def draws(settings: Sequence[Sampling], *args: Any) -> Draws:
        return Draws([settings[0]] * len(settings), *args)

    return _replaced(stepper_module, "Draws", draws)


def _before_step(change: Callable[[Rows, int], None]) -> contextlib.AbstractContextManager[None]:
    """``change(rows, n)`` right before every batched step of rows ``0..n-1``."""
    original = Rows.step

    def step(self: Rows, embeddings: torch.Tensor, stepping: list[int]) -> torch.Tensor:
        change(self, embeddings.shape[0])
        return original(self, embeddings, stepping)

    return _replaced(Rows, "step", step)


def _shared(counters: Callable[[Rows], list[torch.Tensor]]) -> Callable[[Rows, int], None]:
    """Every live row's counter set to row 0's, as one batch-wide counter would be."""

    def share(rows: Rows, n: int) -> None:
        for counter in counters(rows):
            counter[:n] = counter[0].clone()

    return share


def _paused_rows_advanced() -> contextlib.AbstractContextManager[None]:
    """A live row whose client sent nothing this frame steps all the same."""
    original = Rows.step

    def step(self: Rows, embeddings: torch.Tensor, stepping: list[int]) -> torch.Tensor:
        return original(self, embeddings, list(range(embeddings.shape[0])))

    return _replaced(Rows, "step", step)


def _prompt_draws_skipped() -> contextlib.AbstractContextManager[None]:
    """A joining slot's prompt steps spend none of the random draws upstream's sampling makes
    (their tokens are all forced, so only the generator's position shows it)."""
    original = Phase.__init__

    def init(self: Phase, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.noise = []

    return _replaced(Phase, "__init__", init)


MUTANTS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "sampling-settings": _first_rows_settings,
    "encoder-state": lambda: _shared_codec(ENCODER, "encode"),
    "decoder-state": lambda: _shared_codec(DECODER, "decode"),
    "random-generator": _shared_generator,
    "cache-offsets": lambda: _before_step(_shared(lambda rows: rows.ends)),
    "positions": lambda: _before_step(_shared(lambda rows: rows.positions)),
    "paused-rows-advanced": _paused_rows_advanced,
    "token-cache": _shared_token_cache,
    "prompt-draws": _prompt_draws_skipped,
}
