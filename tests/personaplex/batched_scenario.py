"""Conversations run alone on upstream's code, then together on the batched stepper.

Run in the tiny model's interpreter (``python -m tests.personaplex.batched_scenario MODEL_DIR``
with ``src`` and the checkout on ``PYTHONPATH``); prints one JSON object: per conversation,
what each frame returned (the tokens and the decoded audio), alone and batched;
then, for each leak in ``batched_mutants.py``, where the batched run patched with it first
differs from the conversations alone.

Alone is upstream's server path for one session: the seed, a reset, the sampling settings the
client asked for, the voice prompt, the persona, ``step_system_prompts``, then Mimi encode →
``LMGen.step`` → Mimi decode per frame. Batched, the conversations join at different frames
with their own sampling settings, three prompt at once, one hangs up during its prompt phase,
one pauses now and then (no audio, so no step), two leave early, and late ones take the slots
others left. Both runs use the codec of ``batched_codec.py``, whose state matters.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sentencepiece
import sphn
import torch
from moshi.models import loaders

from scenario6.backend import architecture
from scenario6.backend.batched.sampling import UPSTREAM, Sampling
from scenario6.backend.batched.stepper import Output, Slot, Stepper
from scenario6.backend.conventions import session_generator, system_tags
from scenario6.backend.model_folder import LM_WEIGHTS, MIMI_WEIGHTS, TOKENIZER, VOICES

from .batched_codec import memory, noise, remembering
from .batched_mutants import MUTANTS
from .frames import same_frame

SLOTS = 3
# Prompt steps per call between frames: the server sizes its calls to the time left, and one
# call of up to 64 (the server's largest) takes a pass from the voice prompt into the persona.
PROMPT_STEPS = (4, 9, 16, 1, 64)
CODEC_SEED = 7
WAV_VOICE = "noise.wav"  # a voice prompt as audio, written for the run (1.3 s of noise)
SAMPLING_SETTINGS = ("use_sampling", "temp", "temp_text", "top_k", "top_k_text")


@dataclass(frozen=True)
class Plan:
    name: str
    seed: int
    voice: str
    persona: str
    frames: int
    joins_at: int  # the batched run's frame at which it connects
    pauses_every: int = 0  # no audio on every n-th frame (batched run only)
    # What the client asked for (the server reads the official client's query parameters).
    sampling: Sampling = UPSTREAM
    hangs_up_at: int | None = None  # the batched frame at which it leaves, done or not


PLANS = (
    Plan("a", 11, "NATF2.pt", "Be brief.", 12, joins_at=0),
    Plan("e", 55, "VARM2.pt", "Say hello.", 0, joins_at=1, hangs_up_at=3),  # during its prompt
    Plan(
        "b", 22, "NATM1.pt", "You are a patient teacher who explains slowly.", 30, 2, 4,
        Sampling(temp=1.0, temp_text=0.9, top_k=100, top_k_text=50),
    ),
    Plan(
        "c", 33, "VARF0.pt", "Answer in one word.", 16, joins_at=5,
        sampling=Sampling(temp=0.6, temp_text=0.0, top_k=20, top_k_text=5),  # greedy text
    ),
    Plan(
        "d", 44, "NATF2.pt", "Be brief.", 14, joins_at=9,  # waits for a free slot
        sampling=Sampling(temp=1.2, temp_text=0.5, top_k=0, top_k_text=0),  # no top-k
    ),
    Plan("f", 66, WAV_VOICE, "Say hello.", 10, joins_at=12),  # Mimi encodes its voice prompt
)  # fmt: skip


class Models:
    """One tiny LM and one remembering codec, shared by every run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mimi = remembering(loaders.get_mimi(str(folder / MIMI_WEIGHTS), "cpu"), CODEC_SEED)
        lm = loaders.get_moshi_lm(str(folder / LM_WEIGHTS), device="cpu")
        lm.eval()
        self.gen = session_generator(lm, self.mimi, "cpu")
        self.tokenizer = sentencepiece.SentencePieceProcessor(str(folder / TOKENIZER))
        self.scratch = tempfile.TemporaryDirectory(prefix="batched-scenario-")
        wav = noise(16, torch.Generator().manual_seed(CODEC_SEED))
        sphn.write_wav(self.wav, torch.cat(wav).flatten().numpy(), 24000)

    def tokens(self, plan: Plan) -> list[int]:
        return list(self.tokenizer.encode(system_tags(plan.persona)))

    @property
    def wav(self) -> str:
        return str(Path(self.scratch.name) / WAV_VOICE)

    def voice(self, plan: Plan) -> str:
        return self.wav if plan.voice == WAV_VOICE else str(self.folder / VOICES / plan.voice)


def audio(plan: Plan) -> list[torch.Tensor]:
    return noise(plan.frames, torch.Generator().manual_seed(plan.seed))


def record(tokens: torch.Tensor | None, pcm: torch.Tensor | None) -> Any:
    if tokens is None or pcm is None:
        return None
    return {"tokens": tokens.flatten().tolist(), "pcm": pcm.flatten().tolist()}


def alone(models: Models, plan: Plan) -> list[Any]:
    mimi, gen = models.mimi, models.gen
    mimi.streaming_forever(1)
    gen.streaming_forever(1)
    torch.manual_seed(plan.seed)
    mimi.reset_streaming()
    gen.reset_streaming()
    for name in SAMPLING_SETTINGS:  # what upstream's LMGen would hold for these settings
        setattr(gen, name, getattr(plan.sampling, name))
    if plan.voice == WAV_VOICE:
        gen.load_voice_prompt(models.voice(plan))
    else:
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


@dataclass
class Run:
    """What the batched stepper returned, and how the slots were used along the way."""

    frames: dict[str, list[Any]]
    occupancy: list[list[str]]  # per frame: which conversation held which slot
    prompting: list[int]  # per frame: slots in their prompt phase
    left_prompting: list[str]  # conversations that hung up before their handshake
    prompt_steps: dict[str, int]  # each prompt phase's LM steps


class Departed(Exception):
    """A batched run returned something a conversation alone did not."""


def batched(
    models: Models,
    reference: dict[str, list[Any]] | None = None,
    plans: tuple[Plan, ...] = PLANS,
) -> Run:
    """``plans`` on the batched stepper; with ``reference``, it stops at the first frame that
    differs from it (:class:`Departed`)."""
    stepper = Stepper(models.gen, models.mimi, SLOTS)
    chunks = {plan.name: audio(plan) for plan in plans}
    sent = {plan.name: 0 for plan in plans}
    slots: dict[str, Slot] = {}
    done: set[str] = set()
    run = Run({plan.name: [] for plan in plans}, [], [], [], {})
    frame = 0
    while len(done) < len(plans):
        for plan in plans:
            waiting = plan.name not in slots and plan.name not in done
            if waiting and frame >= plan.joins_at and stepper.free:
                slots[plan.name] = stepper.join(
                    models.voice(plan), models.tokens(plan), seed=plan.seed, sampling=plan.sampling
                )
            if plan.name in slots and frame == plan.hangs_up_at:
                if not slots[plan.name].live:
                    run.left_prompting.append(plan.name)
                _leave(stepper, slots, done, plan)
        run.prompting.append(sum(s.busy and not s.live for s in slots.values()))
        for name, joining in slots.items():
            if joining.busy and not joining.live and joining.prompt is not None:
                phase = joining.prompt
                if stepper.prompt(joining, PROMPT_STEPS[frame % len(PROMPT_STEPS)]):
                    run.prompt_steps[name] = phase.taken
        inputs: dict[Slot, torch.Tensor] = {}
        for plan in plans:
            slot = slots.get(plan.name)
            if slot is None or not slot.live or sent[plan.name] >= plan.frames:
                continue
            if plan.pauses_every and frame % plan.pauses_every == 0:
                continue
            inputs[slot] = chunks[plan.name][sent[plan.name]]
            sent[plan.name] += 1
        outputs: dict[Slot, Output] = stepper.frame(inputs)
        for name, slot in slots.items():
            if slot in outputs:
                run.frames[name].append(record(outputs[slot].tokens, outputs[slot].pcm))
                _check(reference, name, run.frames[name])
        run.occupancy.append(sorted(f"{n}@{s.number}" for n, s in slots.items()))
        for plan in plans:
            if plan.name in slots and plan.frames and sent[plan.name] >= plan.frames:
                _leave(stepper, slots, done, plan)  # its Slot object serves the next to join
        frame += 1
    for name, frames in run.frames.items():
        if reference is not None and len(frames) != len(reference[name]):
            raise Departed(
                f"conversation {name}: {len(frames)} frames, {len(reference[name])} alone"
            )
    return run


def _leave(stepper: Stepper, slots: dict[str, Slot], done: set[str], plan: Plan) -> None:
    stepper.leave(slots.pop(plan.name))
    done.add(plan.name)


def _check(reference: dict[str, list[Any]] | None, name: str, frames: list[Any]) -> None:
    if reference is None:
        return
    index = len(frames) - 1
    if index >= len(reference[name]) or not same_frame(frames[index], reference[name][index]):
        raise Departed(f"conversation {name}, frame {index}")


def mutants(models: Models, reference: dict[str, list[Any]]) -> dict[str, Any]:
    """Each leak patched in turn: where it first shows, or the error it raised. A run that
    stops at its first difference keeps the check short."""
    found: dict[str, Any] = {}
    for name, mutant in MUTANTS.items():
        try:
            with mutant():
                batched(models, reference)
            found[name] = {"differs": None}
        except Departed as departed:
            found[name] = {"differs": str(departed)}
        except Exception as exc:  # a leak that crashes the stepper is seen too
            found[name] = {"differs": None, "error": f"{type(exc).__name__}: {exc}"}
    return found


def run(folder: Path, sizes: Path, plans: tuple[Plan, ...]) -> dict[str, Any]:
    """Every plan alone, then all of them batched, on the model in ``folder`` built at the
    sizes in ``sizes`` (an ``architecture.json``)."""
    architecture.apply(architecture.load(str(sizes)))
    torch.set_num_threads(1)
    with contextlib.redirect_stdout(sys.stderr):  # upstream prints its progress
        models = Models(folder)
        reference = {plan.name: alone(models, plan) for plan in plans}
        together = batched(models, plans=plans)
    return {
        "alone": reference,
        "batched": together.frames,
        "occupancy": together.occupancy,
        "prompt_steps": together.prompt_steps,
    }


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    architecture.apply(architecture.load(str(folder / architecture.FILENAME)))
    torch.set_num_threads(1)
    seconds: dict[str, float] = {}
    with contextlib.redirect_stdout(sys.stderr):  # upstream prints its progress
        started = time.monotonic()
        models = Models(folder)
        codec = {
            "tiny": memory(loaders.get_mimi(str(folder / MIMI_WEIGHTS), "cpu")),
            "remembering": memory(models.mimi),
        }
        seconds["models"] = time.monotonic() - started
        reference = {plan.name: alone(models, plan) for plan in PLANS}
        seconds["alone"] = time.monotonic() - started - sum(seconds.values())
        together = batched(models)
        seconds["batched"] = time.monotonic() - started - sum(seconds.values())
        leaks = mutants(models, reference)
        seconds["mutants"] = time.monotonic() - started - sum(seconds.values())
    result = {
        "alone": reference,
        "batched": together.frames,
        "occupancy": together.occupancy,
        "prompting": together.prompting,
        "left_prompting": together.left_prompting,
        "prompt_steps": together.prompt_steps,
        "sampling": {plan.name: plan.sampling.__dict__ for plan in PLANS},
        "codec": codec,
        "mutants": leaks,
        "seconds": seconds,
    }
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
