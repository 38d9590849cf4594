"""A joining conversation's prompt phase, many steps in one pass of its row.

Upstream's prompt phase (``LMGen.step_system_prompts``: the voice prompt, silence, the persona
one token per step, silence) forces every token of every step: the agent's audio, the text and
the user's audio are all given. So the temporal transformer's input for each step is known
before the step runs, and what the depth transformer samples is thrown away. Here the phase is
a sequence of :class:`Step` inputs, read from the slot's prompts at join; :class:`Phase` keeps
the slot's token cache exactly as upstream's steps do (upstream's own ``prepare_step_input``),
spends on the slot's generator exactly the random draws upstream's sampling would, and runs the
steps' inputs through the slot's row of the temporal transformer in one pass
(:meth:`.rows.Rows.advance`). A step costs its share of one pass instead of a whole LM step
with its depth transformer, so a phase of a hundred steps takes a few passes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from moshi.models.lm import _iterate_audio, encode_from_sphn

from .rows import Rows
from .sampling import Sampling


@dataclass(frozen=True)
class Step:
    """One prompt step's input: the voice prompt's embedding, or the forced tokens (agent
    audio ``[1, 8, 1]``, text token, user audio ``[1, 8, 1]``); or, after the voice prompt's
    embeddings, the token cache upstream copies in (no step)."""

    embedding: torch.Tensor | None = None
    tokens: tuple[torch.Tensor, int, torch.Tensor] | None = None
    cache: torch.Tensor | None = None


def phase_inputs(gen: Any, mimi: Any) -> Iterator[Step]:
    """The prompt phase of the conversation ``gen`` (upstream's LMGen) holds now, in
    upstream's order; a ``.wav`` voice prompt is encoded by ``mimi`` frame by frame as the
    steps are taken, so ``mimi`` must hold the conversation's codec state then."""
    agent, user = gen._encode_zero_frame(), gen._encode_sine_frame()  # read, never written
    silence = Step(tokens=(agent, gen.zero_text_code, user))
    persona = [Step(tokens=(agent, token, user)) for token in gen.text_prompt_tokens or []]
    return itertools.chain(
        _voice(gen, mimi),
        itertools.repeat(silence, gen.audio_silence_frame_cnt),
        persona,
        itertools.repeat(silence, gen.audio_silence_frame_cnt),
    )


def _voice(gen: Any, mimi: Any) -> Iterator[Step]:
    embeddings, cache = gen.voice_prompt_embeddings, gen.voice_prompt_cache
    if embeddings is not None:
        return itertools.chain((Step(embedding=e) for e in embeddings), [Step(cache=cache)])
    if gen.voice_prompt_audio is None:
        return iter(())
    frames = _iterate_audio(gen.voice_prompt_audio, sample_interval_size=gen._frame_size, pad=True)
    sine = gen._encode_sine_frame()
    return (
        Step(tokens=(codes, gen.zero_text_code, sine))
        for codes in encode_from_sphn(mimi, frames, max_batch=1)
    )


class Phase:
    """One joining slot's prompt phase on ``gen`` (upstream's LMGen) and ``rows``, drawing
    from the slot's ``generator`` as its ``sampling`` settings would."""

    def __init__(
        self,
        gen: Any,
        rows: Rows,
        inputs: Iterator[Step],
        generator: torch.Generator,
        sampling: Sampling,
    ) -> None:
        self.gen = gen
        self.lm = lm = gen.lm_model
        self.rows = rows
        self.inputs = inputs
        self.next = next(inputs, None)  # one ahead, so that the call taking the last step says so
        self.taken = 0  # steps taken so far
        initial = lm._get_initial_token()
        # What upstream's step_embeddings gives prepare_step_input: every stream forced.
        self.dummy = (initial[:, 9:], gen.zero_text_code, initial[:, 1:9])
        self.generator = generator
        # Upstream draws one exponential per candidate token: the text token's, then each of
        # the depth transformer's codebooks' (their top-k, or the whole vocabulary).
        text = (sampling.temp_text, sampling.top_k_text or lm.text_linear.out_features)
        audio = (sampling.temp, sampling.top_k or lm.card)
        self.noise = [
            torch.empty(1, width, device=initial.device, dtype=torch.float32)
            for temp, width in [text, *[audio] * lm.dep_q]
            if sampling.use_sampling and temp > 0.0
        ]

    def advance(self, row: int, state: Any, count: int) -> bool:
        """Up to ``count`` more steps on ``row`` for the slot whose LMGen state (token cache)
        is ``state``; True once the phase is complete."""
        gen = self.gen
        inputs: list[torch.Tensor] = []  # per step: an embedding, or the tokens to embed
        gen._streaming_state = state
        try:
            while len(inputs) < count and self.next is not None:
                step, self.next = self.next, next(self.inputs, None)
                if step.cache is not None:
                    state.cache.copy_(step.cache)
                    continue
                given = self._prepare(step, state)
                if given is None:
                    continue  # upstream's very first step only fills the token cache
                for noise in self.noise:  # values unused: only where the generator stands
                    noise.exponential_(1, generator=self.generator)
                inputs.append(given)
        finally:
            gen._streaming_state = None
        if inputs:
            self.rows.advance(row, self._embed(inputs))
            self.taken += len(inputs)
        return self.next is None

    def _prepare(self, step: Step, state: Any) -> torch.Tensor | None:
        """Upstream's bookkeeping of the token cache for one step, and the step's input: its
        embedding ``[1, 1, dim]`` or its tokens ``[1, K, 1]``; None when upstream takes no
        transformer step."""
        gen = self.gen
        agent, text, user = step.tokens if step.tokens is not None else self.dummy
        prepared = gen.prepare_step_input(input_tokens=user, moshi_tokens=agent, text_token=text)
        if step.embedding is not None:
            while prepared is None:  # as step_embeddings: it always takes its step
                prepared = gen.prepare_step_input(
                    input_tokens=user, moshi_tokens=agent, text_token=text
                )
        if prepared is None:
            return None
        tokens, _, _, model_input_position, _ = prepared
        # Every stream was given, for this step and the delayed ones before it, so upstream
        # writes none of its samples to the cache: only the step's bookkeeping remains.
        state.provided[:, :, model_input_position] = False
        state.offset += 1
        # The tokens are a view of the cache's ring, which later steps overwrite.
        return step.embedding if step.embedding is not None else tokens.clone()

    def _embed(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """The steps' input embeddings as ``[1, steps, dim]``; tokens embedded in one call."""
        tokens = [given for given in inputs if not given.is_floating_point()]
        embedded = iter(self.lm.embed_codes(torch.cat(tokens)).split(1) if tokens else ())
        steps = [given if given.is_floating_point() else next(embedded) for given in inputs]
        return torch.cat(steps, dim=1)
