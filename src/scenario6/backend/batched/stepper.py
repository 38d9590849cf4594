"""N conversation slots on one PersonaPlex model: prompt phases many steps to a pass of the
joining slot's row, frames for every live slot in one batched pass.

A slot's *prompt phase* (voice prompt, silence, persona, silence: tens to hundreds of steps)
forces every token, so its steps' inputs are known in advance: :class:`.prompt.Phase` keeps
the slot's token cache with upstream's own bookkeeping and runs tens of steps through the
slot's row in one pass, between frames, so the live conversations keep real time while
someone joins.

A *frame* (:meth:`Stepper.frame`) then steps every live slot that received 80 ms of audio: Mimi
encodes all slots' audio in one call, each row with its own codec state (:class:`.codec.Codec`),
the token caches are read and written for all rows at once (:class:`.tokens.Tokens`), the
temporal transformer steps all rows at once (:class:`.rows.Rows`), the depth transformer
(:class:`.depth.Depth`) samples all slots' audio tokens together, each with the noise its own
generator drew for the frame (:class:`.sampling.Draws`), and Mimi decodes all answers in one
call.

Nothing of one slot reaches another: every stateful piece (KV cache row, positions, token
cache, Mimi state, random generator) belongs to one slot, and a slot is reset to a fresh
state (the token cache included, which upstream leaves as it was) before it is reused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .codec import Codec
from .depth import Depth
from .prompt import Phase, phase_inputs
from .rows import LMGEN_STATE, Rows
from .sampling import UPSTREAM, Draws, Sampling
from .tokens import USER_CODEBOOKS, Tokens

# What upstream keeps on its LMGen instance for the one conversation it holds.
PER_SLOT_ATTRIBUTES = (
    "voice_prompt",
    "voice_prompt_audio",
    "voice_prompt_cache",
    "voice_prompt_embeddings",
    "text_prompt_tokens",
)


class NoFreeSlot(RuntimeError):
    """Every slot holds a conversation."""


@dataclass(eq=False)
class Slot:
    """One conversation's place on the model."""

    number: int
    gen_state: Any  # upstream's _LMGenState for this slot (token cache, offset)
    mimi_state: dict[str, Any]  # Mimi's state for upstream's prompt phase (a .wav voice)
    generator: torch.Generator
    row: int = -1  # its row of the transformer's state; -1 while free
    live: bool = False
    sampling: Sampling = UPSTREAM
    attributes: dict[str, Any] = field(default_factory=dict)
    prompt: Phase | None = None

    @property
    def busy(self) -> bool:
        return self.row >= 0


@dataclass(frozen=True)
class Output:
    """A live slot's answer to one frame: 80 ms of audio and one text token, or nothing
    while the model's first steps fill its delays."""

    pcm: torch.Tensor | None
    text_token: int | None
    tokens: torch.Tensor | None  # [1, 1 + dep_q, 1], upstream's step() result


class Stepper:
    """``slots`` conversations on ``lm_gen`` (upstream's LMGen) and ``mimi``."""

    def __init__(self, lm_gen: Any, mimi: Any, slots: int) -> None:
        if slots < 1:
            raise ValueError("a batched stepper needs at least one slot")
        self.lm_gen = lm_gen
        self.lm = lm_gen.lm_model
        self.mimi = mimi
        self.device = self.lm.device
        self.rows = Rows(lm_gen, slots)
        self.codec = Codec(mimi, slots, int(mimi.sample_rate / mimi.frame_rate))
        self.depth = Depth(self.lm, self.lm.dep_q - USER_CODEBOOKS)
        self.tokens = Tokens(lm_gen, slots)
        self.slots: list[Slot] = []
        self.owners: list[Slot | None] = [None] * slots  # row → slot
        self.live = 0  # rows 0..live-1 hold the live slots
        for number in range(slots):
            mimi._start_streaming(1)
            self.slots.append(
                Slot(
                    number,
                    self._fresh_gen_state(),
                    dict(mimi.get_streaming_state()),
                    torch.Generator(device=self.device),
                )
            )

    def _fresh_gen_state(self) -> Any:
        state = self.lm_gen._init_streaming_state(1)
        # A captured CUDA graph would hold one row's addresses, and a slot changes rows.
        state.graphed_main = self.lm.forward_codes
        state.graphed_embeddings = self.lm.forward_embeddings
        state.graphed_depth = self.lm_gen.depformer_step
        return state

    @property
    def free(self) -> int:
        return sum(not slot.busy for slot in self.slots)

    # -- joining -------------------------------------------------------------------------

    def join(
        self,
        voice_prompt: str,
        text_tokens: list[int] | None,
        *,
        seed: int | None = None,
        sampling: Sampling = UPSTREAM,
    ) -> Slot:
        """Take a free slot for a new conversation and prepare its prompt phase."""
        slot = next((s for s in self.slots if not s.busy), None)
        if slot is None:
            raise NoFreeSlot(f"all {len(self.slots)} slots hold a conversation")
        row = next(r for r in range(self.live, len(self.owners)) if self.owners[r] is None)
        # Upstream's top-k fails beyond the vocabulary; a client may ask for any value.
        sampling = replace(
            sampling,
            top_k=min(sampling.top_k, self.lm.card),
            top_k_text=min(sampling.top_k_text, self.lm.text_card),
        )
        slot.row, slot.live, slot.sampling = row, False, sampling
        self.owners[row] = slot
        try:
            if seed is None:
                slot.generator.seed()
            else:
                slot.generator.manual_seed(seed)
            with self._bound(slot):
                self.lm_gen.reset_streaming()
                slot.gen_state.cache.fill_(self.lm.ungenerated_token_id)
                self.mimi.reset_streaming()
                if voice_prompt.endswith(".pt"):
                    self.lm_gen.load_voice_prompt_embeddings(voice_prompt)
                else:
                    self.lm_gen.load_voice_prompt(voice_prompt)
                self.lm_gen.text_prompt_tokens = list(text_tokens or [])
                inputs = phase_inputs(self.lm_gen, self.mimi)
                slot.prompt = Phase(self.lm_gen, self.rows, inputs, slot.generator, sampling)
        except BaseException:
            self.leave(slot)  # an unreadable voice file must not keep the slot
            raise
        return slot

    def prompt(self, slot: Slot, steps: int) -> bool:
        """Up to ``steps`` more steps of ``slot``'s prompt phase, in one pass of its row where
        they fit; True once it is complete and the slot is live."""
        assert slot.busy and not slot.live and slot.prompt is not None
        if slot.attributes.get("voice_prompt_audio") is not None:
            self.mimi.set_streaming_state(slot.mimi_state)  # it encodes the voice as it goes
        with torch.no_grad():
            done = slot.prompt.advance(slot.row, slot.gen_state, steps)
        if not done:
            return False
        slot.prompt = None
        self.codec.reset(slot.row)
        self._move(slot, self.live)
        self.tokens.load(slot.row, slot.gen_state)
        self.live += 1
        slot.live = True
        return True

    # -- leaving -------------------------------------------------------------------------

    def leave(self, slot: Slot) -> None:
        """End ``slot``'s conversation; its slot is free for the next one."""
        if not slot.busy:
            return
        if slot.live:
            self._move(slot, self.live - 1)
            self.live -= 1
        self.owners[slot.row] = None
        slot.live = False
        slot.prompt = None
        slot.attributes = {}
        slot.row = -1

    def _move(self, slot: Slot, row: int) -> None:
        """Put ``slot``'s state in ``row``, and whatever was there in the slot's old row."""
        other = self.owners[row]
        self.rows.swap(slot.row, row)
        self.codec.swap(slot.row, row)
        self.tokens.swap(slot.row, row)
        self.owners[slot.row], self.owners[row] = other, slot
        if other is not None:
            other.row = slot.row
        slot.row = row

    # -- frames --------------------------------------------------------------------------

    def frame(self, audio: Mapping[Slot, torch.Tensor]) -> dict[Slot, Output]:
        """One 80 ms frame for every live slot in ``audio`` (``[1, 1, 1920]`` PCM each)."""
        with torch.no_grad():
            return self._frame(audio)

    def _frame(self, audio: Mapping[Slot, torch.Tensor]) -> dict[Slot, Output]:
        live = [self.owners[row] for row in range(self.live)]
        stepping = [slot for slot in live if slot is not None and slot in audio]
        if not stepping:
            return {}
        lm = self.lm
        n = self.live
        moving = self.rows.index([slot.row for slot in stepping])
        silence = torch.zeros_like(next(iter(audio.values())))
        pcm = torch.cat([audio.get(slot, silence) if slot else silence for slot in live])
        codes = self.codec.encode(pcm, moving)
        assert codes.shape[-1] == 1, "one frame of audio is one step"
        step = self.tokens.prepare(codes, moving)
        hidden = self.rows.step(lm.embed_codes(step.inputs), [slot.row for slot in stepping])
        if lm.out_norm:
            hidden = lm.out_norm(hidden)
        if len(stepping) < n:
            hidden = hidden.index_select(0, moving)
        text_logits = lm.text_linear(hidden)
        draws = Draws(
            [slot.sampling for slot in stepping],
            [slot.generator for slot in stepping],
            lm.dep_q,
            lm.text_card,
            lm.card,
            self.device,
        )
        text = draws.text(text_logits[:, 0])
        text = torch.where(step.provided[:, 0], step.target[:, 0], text)
        known = step.target[:, lm.audio_offset :]
        forced = step.provided[:, lm.audio_offset :]
        audio_tokens = self.depth.run(text, hidden, known, forced, draws)
        return self._decode(
            n, stepping, moving, self.tokens.commit(step, moving, text, audio_tokens)
        )

    def _decode(
        self, n: int, stepping: list[Slot], moving: torch.Tensor, tokens: torch.Tensor
    ) -> dict[Slot, Output]:
        """Every stepping slot's answer to its completed step (``tokens``, ``[m, K]``): the
        audio of all of them decodes in one call, and their text tokens reach the host in
        one copy."""
        audio = tokens[:, 1:9, None]
        if len(stepping) < n:
            audio = audio.new_zeros(n, *audio.shape[1:]).index_copy_(0, moving, audio)
        pcm = self.codec.decode(audio, moving)
        texts = tokens[:, 0].tolist()
        return {
            slot: Output(pcm[slot.row : slot.row + 1], text, tokens[index : index + 1, :, None])
            for index, (slot, text) in enumerate(zip(stepping, texts, strict=True))
        }

    # -- state swapping ------------------------------------------------------------------

    @contextlib.contextmanager
    def _bound(self, slot: Slot) -> Iterator[None]:
        """Upstream's objects hold ``slot``'s conversation (state, prompts, sampling, random
        generator) while upstream's own code runs for it."""
        gen = self.lm_gen
        gen.set_streaming_state({**self.rows.states[slot.row], LMGEN_STATE: slot.gen_state})
        self.mimi.set_streaming_state(slot.mimi_state)
        for name in PER_SLOT_ATTRIBUTES:
            setattr(gen, name, slot.attributes.get(name))
        for name in ("use_sampling", "temp", "temp_text", "top_k", "top_k_text"):
            setattr(gen, name, getattr(slot.sampling, name))
        default = _default_generator(self.device)
        kept = default.get_state()
        default.set_state(slot.generator.get_state())
        try:
            yield
        finally:
            slot.generator.set_state(default.get_state())
            default.set_state(kept)
            slot.attributes = {name: getattr(gen, name) for name in PER_SLOT_ATTRIBUTES}
            gen._streaming_state = None


def _default_generator(device: torch.device) -> torch.Generator:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return torch.cuda.default_generators[index]
    return torch.default_generator
