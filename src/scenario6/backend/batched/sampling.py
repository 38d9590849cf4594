"""Each slot's tokens drawn from the slot's own random generator, all slots at a time.

Upstream samples a batch with one draw from the process's generator, so a conversation's
tokens would depend on who else is in the batch. Here each row's noise for a whole frame (the
text token, then every codebook of the depth transformer, in upstream's order) comes from its
slot's generator in one draw, and the arithmetic (temperature, softmax, top-k, the exponential
race upstream uses instead of ``torch.multinomial``) runs once for the rows that share
settings. On the CPU one draw of many values yields exactly the values that several smaller
draws would, so a slot seeded like upstream's server draws the same tokens as upstream's
server would. (A CUDA generator lays a draw out in its own blocks: there the draws are from
the same distribution, still one slot's alone, but not the same numbers.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


@dataclass(frozen=True)
class _Stream:
    """How one stream (text, or an audio codebook) is sampled: greedy (``temp`` 0), or at
    ``temp`` among the ``top_k`` likeliest (all of them for 0), from ``width`` noise values."""

    temp: float
    top_k: int
    width: int

    @classmethod
    def of(cls, sampled: bool, temp: float, top_k: int, card: int) -> _Stream:
        if not sampled or temp <= 0.0:
            return cls(0.0, 0, 0)
        return cls(temp, top_k, top_k if top_k > 0 else card)

    def sample(self, logits: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``[n]`` tokens from ``logits`` (``[n, card]``) and ``noise`` (``[n, width]``)."""
        logits = logits.float()
        if not self.width:
            return logits.argmax(dim=-1)
        probs = torch.softmax(logits / self.temp, dim=-1)
        if not self.top_k:
            return (probs / noise).argmax(dim=-1)
        probs, ids = torch.topk(probs, self.top_k, dim=-1)
        choice = (probs / noise).argmax(dim=-1, keepdim=True)
        return ids.gather(-1, choice)[:, 0]


@dataclass(frozen=True)
class _Group:
    """Rows that share settings: their noise (``[rows, text + codebooks × audio]``) and, when
    they are not every row in order, their index."""

    index: torch.Tensor | None
    text: _Stream
    audio: _Stream
    noise: torch.Tensor

    def part(self, logits: torch.Tensor) -> torch.Tensor:
        return logits if self.index is None else logits.index_select(0, self.index)


class Draws:
    """A frame's sampling for ``n`` rows: row ``b`` samples with ``settings[b]`` and draws its
    noise for the text token and ``codebooks`` audio tokens from ``generators[b]``."""

    def __init__(
        self,
        settings: Sequence[Sampling],
        generators: Sequence[torch.Generator],
        codebooks: int,
        text_card: int,
        card: int,
        device: torch.device,
    ) -> None:
        self.n = len(settings)
        self.codebooks = codebooks
        rows: dict[Sampling, list[int]] = {}
        for row, setting in enumerate(settings):
            rows.setdefault(setting, []).append(row)
        self.groups: list[_Group] = []
        for setting, members in rows.items():
            text = _Stream.of(
                setting.use_sampling, setting.temp_text, setting.top_k_text, text_card
            )
            audio = _Stream.of(setting.use_sampling, setting.temp, setting.top_k, card)
            noise = torch.empty(len(members), text.width + codebooks * audio.width, device=device)
            if noise.shape[1]:
                for place, row in enumerate(members):
                    noise[place].exponential_(1, generator=generators[row])
            whole = len(members) == self.n
            index = None if whole else torch.tensor(members, device=device)
            self.groups.append(_Group(index, text, audio, noise))

    def text(self, logits: torch.Tensor) -> torch.Tensor:
        """The rows' text tokens (``[n]``) from ``logits`` (``[n, text_card]``)."""
        return self._sample(logits, lambda group: (group.text, group.noise[:, : group.text.width]))

    def audio(self, logits: torch.Tensor, codebook: int) -> torch.Tensor:
        """The rows' tokens for ``codebook`` (``[n]``) from ``logits`` (``[n, card]``)."""

        def pick(group: _Group) -> tuple[_Stream, torch.Tensor]:
            start = group.text.width + codebook * group.audio.width
            return group.audio, group.noise[:, start : start + group.audio.width]

        return self._sample(logits, pick)

    def _sample(
        self, logits: torch.Tensor, pick: Callable[[_Group], tuple[_Stream, torch.Tensor]]
    ) -> torch.Tensor:
        if len(self.groups) == 1 and self.groups[0].index is None:
            stream, noise = pick(self.groups[0])
            return stream.sample(logits, noise)
        out = torch.empty(self.n, dtype=torch.long, device=logits.device)
        for group in self.groups:
            stream, noise = pick(group)
            out[group.index] = stream.sample(group.part(logits), noise)
        return out
