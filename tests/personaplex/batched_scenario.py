"""Conversations run alone on upstream's code, then together on the batched engine.

Run in the tiny model's interpreter (``python -m tests.personaplex.batched_scenario MODEL_DIR``
with ``src`` and the checkout on ``PYTHONPATH``); prints one JSON object: per conversation,
what each frame returned (the tokens, and a digest of the decoded audio), alone and batched.

Alone is upstream's server path for one session: the seed, a reset, the voice prompt, the
persona, ``step_system_prompts``, then Mimi encode → ``LMGen.step`` → Mimi decode per frame.
Batched, the conversations join at different frames, one pauses now and then (no audio, so no
step), two leave early, and a late one takes the slot one of them left.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sentencepiece
import torch
from moshi.models import loaders

from scenario6.backend import architecture
from scenario6.backend.batched.engine import Engine, Output, Slot
from scenario6.backend.conventions import session_generator, system_tags
from scenario6.backend.model_folder import LM_WEIGHTS, MIMI_WEIGHTS, TOKENIZER, VOICES

FRAME = 1920
SLOTS = 3


@dataclass(frozen=True)
class Plan:
    name: str
    seed: int
    voice: str
    persona: str
    frames: int
    joins_at: int  # the batched run's frame at which it connects
    pauses_every: int = 0  # no audio on every n-th frame (batched run only)


PLANS = (
    Plan("a", 11, "NATF2.pt", "Be brief.", 12, joins_at=0),
    Plan("b", 22, "NATM1.pt", "You are a patient teacher who explains slowly.", 30, 2, 4),
    Plan("c", 33, "VARF0.pt", "Answer in one word.", 16, joins_at=5),
    Plan("d", 44, "NATF2.pt", "Be brief.", 14, joins_at=9),  # waits for a free slot
)


class Models:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mimi = loaders.get_mimi(str(folder / MIMI_WEIGHTS), "cpu")
        lm = loaders.get_moshi_lm(str(folder / LM_WEIGHTS), device="cpu")
        lm.eval()
        self.gen = session_generator(lm, self.mimi, "cpu")
        self.tokenizer = sentencepiece.SentencePieceProcessor(str(folder / TOKENIZER))

    def tokens(self, plan: Plan) -> list[int]:
        return list(self.tokenizer.encode(system_tags(plan.persona)))

    def voice(self, plan: Plan) -> str:
        return str(self.folder / VOICES / plan.voice)


def audio(plan: Plan) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(plan.seed)
    return [(torch.rand(1, 1, FRAME, generator=generator) - 0.5) * 0.2 for _ in range(plan.frames)]


def record(tokens: torch.Tensor | None, pcm: torch.Tensor | None) -> Any:
    if tokens is None or pcm is None:
        return None
    digest = hashlib.sha256(pcm.contiguous().numpy().tobytes()).hexdigest()[:16]
    return {"tokens": tokens.flatten().tolist(), "pcm": digest}


def alone(folder: Path, plan: Plan) -> list[Any]:
    models = Models(folder)
    mimi, gen = models.mimi, models.gen
    mimi.streaming_forever(1)
    gen.streaming_forever(1)
    torch.manual_seed(plan.seed)
    mimi.reset_streaming()
    gen.reset_streaming()
    gen.load_voice_prompt_embeddings(models.voice(plan))
    gen.text_prompt_tokens = models.tokens(plan)
    with torch.no_grad():
        gen.step_system_prompts(mimi)
        mimi.reset_streaming()
        frames = []
        for chunk in audio(plan):
            tokens = gen.step(mimi.encode(chunk)[:, :, 0:1])
            frames.append(record(tokens, None if tokens is None else mimi.decode(tokens[:, 1:9])))
    return frames


def batched(
    folder: Path, plans: tuple[Plan, ...] = PLANS
) -> tuple[dict[str, list[Any]], list[list[str]]]:
    models = Models(folder)
    engine = Engine(models.gen, models.mimi, SLOTS)
    chunks = {plan.name: audio(plan) for plan in plans}
    sent = {plan.name: 0 for plan in plans}
    slots: dict[str, Slot] = {}
    frames: dict[str, list[Any]] = {plan.name: [] for plan in plans}
    slot_numbers: list[list[str]] = []  # which conversation held each slot, per frame
    frame = 0
    while any(sent[p.name] < p.frames for p in plans):
        for plan in plans:
            waiting = plan.name not in slots and sent[plan.name] == 0
            if waiting and frame >= plan.joins_at and engine.free:
                slots[plan.name] = engine.join(
                    models.voice(plan), models.tokens(plan), seed=plan.seed
                )
        for slot in slots.values():
            if slot.busy and not slot.live:
                engine.prompt(slot, 4)  # a few prompt steps between frames, as the server does
        inputs: dict[Slot, torch.Tensor] = {}
        for plan in plans:
            slot = slots.get(plan.name)
            if slot is None or not slot.live or sent[plan.name] >= plan.frames:
                continue
            if plan.pauses_every and frame % plan.pauses_every == 0:
                continue
            inputs[slot] = chunks[plan.name][sent[plan.name]]
            sent[plan.name] += 1
        outputs: dict[Slot, Output] = engine.frame(inputs)
        for name, slot in slots.items():
            if slot in outputs:
                frames[name].append(record(outputs[slot].tokens, outputs[slot].pcm))
        slot_numbers.append(sorted(f"{n}@{s.number}" for n, s in slots.items()))
        for plan in plans:
            slot = slots.get(plan.name)
            if slot is not None and sent[plan.name] >= plan.frames:
                engine.leave(slot)  # its Slot object will serve the next one to join
                del slots[plan.name]
        frame += 1
    return frames, slot_numbers


def run(folder: Path, sizes: Path, plans: tuple[Plan, ...]) -> dict[str, Any]:
    """Every plan alone, then all of them batched, on the model in ``folder`` built at the
    sizes in ``sizes`` (an ``architecture.json``)."""
    architecture.apply(architecture.load(str(sizes)))
    torch.set_num_threads(1)
    with contextlib.redirect_stdout(sys.stderr):  # upstream prints its progress
        reference = {plan.name: alone(folder, plan) for plan in plans}
        together, occupancy = batched(folder, plans)
    return {"alone": reference, "batched": together, "occupancy": occupancy}


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    json.dump(run(folder, folder / architecture.FILENAME, PLANS), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
