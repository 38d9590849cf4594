"""What N conversations cost on the batched stepper: per 80 ms tick against how many are live,
while one more joins, and in memory.

Run in an interpreter that has torch and PersonaPlex's ``moshi`` fork (the batched backend
image, or the test-support venv)::

    python -m scenario6.backend.batchprobe                          # tiny random model, CPU
    python -m scenario6.backend.batchprobe --full-size --levels 1,8,32

The models are the ones ``modelprobe`` builds (:class:`.probekit.RandomModels`, random
weights); the stepper (:class:`.batched.stepper.Stepper`) gets as many slots as the largest level
and the batched server's own warm-up; on a GPU, levels above what the server would hold there
(``--slots auto``) are skipped. Then, level by level in ascending order, conversations
join until one fewer than the level are live (prompted to the end, untimed), and the last one
joins as the server schedules it while the others talk (:meth:`Batch.join`): its prompt
steps, the others' ticks and how late their frames run, and its time to the handshake are
timed, and so are the first ten ticks after it (a first-frame outlier would show there).
After ``--warm-up`` more ticks (the first ten counted in), ``--frames`` ticks of every live
conversation are timed back to back. The levels' conversations are young, and on a CPU a step
attends over only the part of the LM's ring KV cache they have filled
(:func:`.batched.attention.key_span`); so last, every conversation is aged past the LM's
context (:meth:`Batch.age`: each ring full, as in a call of over four minutes), and level by
level in descending order, as conversations leave, ``--frames`` more ticks are timed. A
*tick* is the server's model work for one frame: each conversation's 80 ms of audio to the
device, :meth:`Stepper.frame`, the answers' audio back to the host; timed after synchronising
a GPU. Memory: on CUDA what torch allocated for the stepper's slots and at each level's peak,
on a CPU the process's resident memory.

It prints one JSON object with the raw timings; ``scenario6 bench batch`` summarises them.
Opus decoding and encoding (``sphn``, on the CPU) are not part of the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from scenario6.backend import probekit
from scenario6.backend.batched.__main__ import MAX_SLOTS, choose_slots
from scenario6.backend.batched.rows import slot_bytes
from scenario6.backend.batched.scheduler import PromptPace, prompt_budget, prompt_deadline
from scenario6.backend.batched.stepper import Slot, Stepper
from scenario6.backend.batched.warmup import keep_kernels, warm_up
from scenario6.backend.conventions import system_tags
from scenario6.backend.probekit import (
    BATCH_FRAMES,
    BATCH_LEVELS,
    Prompts,
    RandomModels,
)
from scenario6.protocol.messages import FRAME_S
from scenario6.protocol.voices import DEFAULT_PERSONA

FILL_STEPS = 64  # prompt steps per call for the conversations whose joining is not timed
FIRST_TICKS = 10  # ticks timed right after the join, to show a first-frame outlier


class Memory:
    """Bytes in use beyond a baseline: torch's allocations on CUDA, resident memory on a CPU."""

    def __init__(self, models: RandomModels) -> None:
        self.torch = models.torch
        self.device = models.device
        self.cuda = models.device.type == "cuda"
        self.measure = "cuda_allocated" if self.cuda else "rss"
        self.baseline = self._now()

    def _now(self) -> int | None:
        if self.cuda:
            return int(self.torch.cuda.memory_allocated(self.device))
        try:  # Linux; elsewhere there is no RSS figure
            pages = int(Path("/proc/self/statm").read_text().split()[1])
        except OSError:
            return None
        return pages * os.sysconf("SC_PAGE_SIZE")

    def _beyond(self, value: int | None) -> int | None:
        return None if value is None or self.baseline is None else value - self.baseline

    def held(self) -> int | None:
        """In use now."""
        return self._beyond(self._now())

    def start_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats(self.device)

    def peak(self) -> int | None:
        """The most in use since :meth:`start_peak` on CUDA; on a CPU, in use now (a process's
        resident memory seldom shrinks)."""
        if not self.cuda:
            return self.held()
        return self._beyond(int(self.torch.cuda.max_memory_allocated(self.device)))


class Batch:
    """A stepper on ``models`` with ``slots`` slots, and its conversations."""

    def __init__(self, models: RandomModels, prompts: Prompts, slots: int) -> None:
        self.models = models
        self.prompts = prompts
        self.stepper = Stepper(models.lm_gen, models.mimi, slots)
        self.live: list[Slot] = []

    def tick(self) -> float:
        """One frame for every live conversation, as the server's scheduler runs it; ms."""
        models = self.models
        chunks = {slot: models.noise() for slot in self.live}  # decoded Opus, host memory
        began = models.now()
        audio = {slot: chunk.to(device=models.device)[None, None] for slot, chunk in chunks.items()}
        for output in self.stepper.frame(audio).values():
            if output.pcm is not None:
                output.pcm[0, 0].cpu().numpy()  # what the server hands its Opus encoder
        return round((models.now() - began) * 1000, 4)

    def age(self) -> int:
        """Every live conversation as if it had taken a whole context of steps more: its rings
        full, so that each step attends over all of them, as in a call longer than the
        context. Returns the steps added (the LM's context)."""
        rows = self.stepper.rows
        steps = int(rows.caches[0].shape[3])
        n = len(self.live)
        for counter in (*rows.ends, *rows.positions, rows.transformer_offset):
            counter[:n] += steps
        for states in rows.states[:n]:
            for state in states.values():
                if hasattr(state, "offset_cpu"):
                    state.offset_cpu += steps
        return steps

    def leave(self) -> None:
        """The latest live conversation hangs up."""
        self.stepper.leave(self.live.pop())

    def fill(self) -> None:
        """One more live conversation, joined without a persona and without timing it."""
        slot = self.stepper.join(str(self.prompts.voice), [], seed=len(self.live))
        while not self.stepper.prompt(slot, FILL_STEPS):
            pass
        self.live.append(slot)

    def join(self, text_tokens: list[int]) -> dict[str, Any]:
        """One more conversation, scheduled as the server schedules it, all timed.

        The live conversations' audio arrives every 80 ms, in step; as in the server's
        ``Scheduler``, a frame runs once its audio is there, except that the joining
        conversation first gets its share of prompt steps after each frame: calls sized by
        ``PromptPace`` to the time until the next frame's audio is expected
        (``prompt_budget``), and one call of the least size when that time is gone.
        """
        models, stepper = self.models, self.stepper
        began = models.now()
        slot = stepper.join(str(self.prompts.voice), text_tokens, seed=len(self.live))
        phase = slot.prompt
        assert phase is not None
        setup_ms = (models.now() - began) * 1000
        calls: list[list[float]] = []  # [steps, ms, ms a due frame waited for it] per call
        ticks: list[float] = []
        late: list[float] = []  # how long each of the others' frames waited past its audio
        start = prompt_until = models.now()
        frames = 0
        owed = False
        pace = PromptPace()
        done = False
        while not done:
            now = models.now()
            due = start + frames * FRAME_S
            budget = prompt_budget(due - now, owed, prompt_until, now, bool(self.live))
            if budget is not None:
                owed = False
                taken = phase.taken
                done = stepper.prompt(slot, pace.steps(budget))
                ended = models.now()
                pace.took(phase.taken - taken, ended - now)
                held = max(0.0, ended - max(now, due)) if self.live else 0.0
                calls.append(
                    [phase.taken - taken, *(round(s * 1000, 4) for s in (ended - now, held))]
                )
                continue
            late.append(round((now - due) * 1000, 4))
            ticks.append(self.tick())
            frames += 1
            prompt_until = prompt_deadline(due)
            owed = True
        handshake_s = models.now() - began
        self.live.append(slot)
        return {
            "others": len(self.live) - 1,
            "setup_ms": round(setup_ms, 4),
            "prompt_calls": calls,
            "others_tick_ms": ticks,
            "others_late_ms": late,
            "handshake_s": round(handshake_s, 4),
        }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    models = RandomModels.from_args(args)
    # On a GPU, no more conversations than the server itself would hold (--slots auto).
    auto = choose_slots("auto", models.lm, models.device) if models.device.type == "cuda" else None
    counts = [level for level in args.levels if auto is None or level <= auto]
    if not counts:
        raise SystemExit(f"the GPU's free memory holds {auto} conversation(s), fewer than --levels")
    with tempfile.TemporaryDirectory(prefix="batchprobe-") as scratch:
        prompts = probekit.prompts(models, args, Path(scratch))
        memory = Memory(models)
        batch = Batch(models, prompts, max(counts))
        engine_bytes = memory.held()
        warm_up_s = warm_up(batch.stepper, prompts.voice.parent, models.frame_size)
        text_tokens = prompts.encode(system_tags(DEFAULT_PERSONA))
        levels = []
        for level in counts:
            while len(batch.live) < level - 1:
                batch.fill()
            memory.start_peak()
            join = batch.join(text_tokens)
            first = [batch.tick() for _ in range(max(args.warm_up, FIRST_TICKS))]
            ticks = [batch.tick() for _ in range(args.frames)]
            levels.append(
                {
                    "conversations": level,
                    "tick_ms": ticks,
                    "first_tick_ms": first[:FIRST_TICKS],
                    "memory_bytes": memory.peak(),
                    "join": join,
                }
            )
        context = batch.age()
        # Every ring full: each live conversation has taken at least a context of steps.
        fewest = int(batch.stepper.rows.ends[0][: len(batch.live)].min())
        for record in reversed(levels):
            while len(batch.live) > record["conversations"]:
                batch.leave()
            for _ in range(args.warm_up):
                batch.tick()
            record["full_ring_tick_ms"] = [batch.tick() for _ in range(args.frames)]
    return {
        "benchmark": "batch",
        **models.describe(),
        "frame_budget_ms": FRAME_S * 1000,
        "warm_up_frames": args.warm_up,
        "lm_context_frames": context,
        "full_ring_fewest_steps": fewest,
        "server_warm_up_s": round(warm_up_s, 3),
        "slots": len(batch.stepper.slots),
        "auto_slots": auto,  # what --slots auto would hold here; None on a CPU
        "levels_skipped": [level for level in args.levels if level not in counts],
        **prompts.describe(),
        "persona": {"characters": len(DEFAULT_PERSONA), "text_tokens": len(text_tokens)},
        "memory": {
            "measure": memory.measure if memory.baseline is not None else None,
            "slot_bytes_estimate": slot_bytes(models.lm),
            "engine_bytes": engine_bytes,
        },
        "levels": levels,
    }


def levels_argument(value: str) -> list[int]:
    try:
        return probekit.counts(value, MAX_SLOTS)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scenario6.backend.batchprobe",
        description="Time the batched stepper's 80 ms tick against the number of live "
        "conversations, and a conversation joining, with random weights; prints one JSON object.",
    )
    parser.add_argument(
        "--levels",
        type=levels_argument,
        default=list(BATCH_LEVELS),
        help="live conversations to time (default " + ",".join(map(str, BATCH_LEVELS)) + ")",
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=BATCH_FRAMES,
        help=f"ticks timed per level (default {BATCH_FRAMES})",
    )
    probekit.add_arguments(parser)
    return probekit.parse(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    keep_kernels(max(args.levels))  # as the server does for its slots
    return probekit.main(lambda: measure(args))


if __name__ == "__main__":
    sys.exit(main())
