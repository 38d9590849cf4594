"""The batched server's one task that owns the stepper: joins, prompt steps, frames, leaves.

Every stepper call runs on one worker thread, so the event loop keeps serving sockets while
the model computes. A *frame* runs when every live conversation has 80 ms of audio waiting, or
when the oldest waiting audio is half a frame old (a client that paused must not hold the
others back); between frames the idle time goes to joining conversations' prompt steps, in
calls sized to the time left (:class:`PromptPace`). When frames run late, a frame is always
due: then a joining conversation gets a call of a few steps after every frame, and the time
until the next frame's audio is expected (:func:`prompt_deadline`), so it reaches its
handshake while the live conversations lose as little time as there is to lose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import torch

from scenario6.protocol.messages import FRAME_S, HANDSHAKE, Kind

from ..metrics import BackendMetrics
from .conversation import Conversation, close_all
from .stepper import Slot, Stepper

log = logging.getLogger("scenario6.batched")

PATIENCE_S = FRAME_S / 2  # how long waiting audio may wait for the others' before a frame runs
PROMPT_MARGIN_S = 0.005  # of a frame's slack, kept back for the scheduling itself
# Prompt steps per call: at least this many after every frame, even a late one, so that a
# join beside late frames still ends within seconds; at most that many, so that a frame
# coming due waits for one short call at most.
MIN_PROMPT_STEPS = 8
MAX_PROMPT_STEPS = 64
FIRST_STEP_S = 0.002  # a prompt step's cost until calls have been timed
MAX_FAILURES = 3  # consecutive model errors before the server exits
SILENT_TOKENS = (0, 3)  # the text stream's end-of-padding and padding: nothing to say
T = TypeVar("T")


class Scheduler:
    """Owns the stepper: joins, prompt steps, frames and leaves, in one task."""

    def __init__(self, stepper: Stepper, piece: Callable[[int], str], frame_size: int) -> None:
        self.stepper = stepper
        self.piece = piece
        self.frame_size = frame_size
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="model")
        self.waiting: deque[Conversation] = deque()
        self.prompting: list[Conversation] = []
        self.live: list[Conversation] = []
        self.leaving: list[Conversation] = []
        self.wake = asyncio.Event()
        self.prompt_until = 0.0  # joining conversations' share after the last frame
        self.call_owed = False  # a joining conversation's share after each frame
        self.pace = PromptPace()
        self.metrics = BackendMetrics(self.slots_used)

    def slots_used(self) -> tuple[int, int]:
        """(slots holding a conversation, slots), for the metrics."""
        total = len(self.stepper.slots)
        return total - self.stepper.free, total

    async def _model(self, call: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with torch.no_grad():
                return call(*args)

        return await asyncio.get_running_loop().run_in_executor(self.executor, run)

    def add(self, conversation: Conversation) -> None:
        self.waiting.append(conversation)
        self.wake.set()

    def remove(self, conversation: Conversation) -> None:
        self.leaving.append(conversation)
        self.wake.set()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._turn()
                failures = 0
            except Exception as exc:
                # The model is shared: an error in a frame may have left any slot's state
                # half-written, so every conversation in progress ends.
                failures += 1
                log.exception("model error; ending every conversation in progress")
                ended = [*self.prompting, *self.live]
                for conversation in ended:
                    self.remove(conversation)
                await close_all(ended, 1011, b"model error")
                if failures >= MAX_FAILURES or "CUDA" in str(exc):
                    # A device error does not go away: exit so that the container restarts.
                    log.critical("giving up after %d model errors", failures)
                    os._exit(3)

    async def _turn(self) -> None:
        await self._leave()
        await self._join()
        wait = self._frame_due()
        # When frames run late (a loaded machine, clients with a backlog) a frame is always
        # due; a joining conversation still gets its share after each frame.
        now = time.monotonic()
        budget = prompt_budget(wait, self.call_owed, self.prompt_until, now, bool(self.live))
        if self.prompting and budget is not None:
            self.call_owed = False
            await self._prompt(self.prompting[0], self.pace.steps(budget))
        elif wait <= 0:
            self.prompt_until = prompt_deadline(await self._frame())
            self.call_owed = True
        else:
            self.wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):  # TimeoutError from Python 3.11 on
                await asyncio.wait_for(self.wake.wait(), None if wait == float("inf") else wait)

    async def _leave(self) -> None:
        while self.leaving:
            conversation = self.leaving.pop()
            if conversation in self.waiting:
                self.waiting.remove(conversation)
            for group in (self.prompting, self.live):
                if conversation in group:
                    group.remove(conversation)
            if conversation.slot is not None:
                await self._model(self.stepper.leave, conversation.slot)
                conversation.slot = None

    async def _join(self) -> None:
        while self.waiting and self.stepper.free:
            conversation = self.waiting.popleft()
            if conversation.ws.closed:  # sent away by a drain, or gone: its slot stays free
                continue
            conversation.begun()
            try:
                conversation.slot = await self._model(self._start, conversation)
            except Exception:  # its voice file, say: this conversation alone ends
                log.exception("could not start a conversation")
                await close_all([conversation], 1011, b"could not start the conversation")
                continue
            self.prompting.append(conversation)

    def _start(self, conversation: Conversation) -> Slot:
        return self.stepper.join(
            conversation.voice,
            conversation.text_tokens,
            seed=conversation.seed,
            sampling=conversation.sampling,
        )

    async def _prompt(self, conversation: Conversation, steps: int) -> None:
        assert conversation.slot is not None
        phase, began = conversation.slot.prompt, time.monotonic()
        assert phase is not None
        taken = phase.taken
        done = await self._model(self.stepper.prompt, conversation.slot, steps)
        self.pace.took(phase.taken - taken, time.monotonic() - began)
        if not done:
            return
        self.prompting.remove(conversation)
        conversation.live = True
        self.live.append(conversation)
        conversation.outgoing.put_nowait(HANDSHAKE)
        self.metrics.prompt.observe(time.monotonic() - conversation.opened)

    def _frame_due(self) -> float:
        """Seconds until the next frame should run: 0 now, inf when no audio waits."""
        waiting = [c for c in self.live if c.chunks]
        if not waiting:
            return float("inf")
        if len(waiting) == len(self.live) or any(len(c.chunks) > 1 for c in waiting):
            return 0.0
        oldest = min(c.chunks[0][0] for c in waiting)
        return oldest + PATIENCE_S - time.monotonic()

    async def _frame(self) -> float:
        """One frame for the live conversations with audio waiting; when the oldest of that
        audio arrived."""
        audio: dict[Slot, torch.Tensor] = {}
        owners: dict[Slot, Conversation] = {}
        started = time.monotonic()
        arrivals: list[float] = []
        for conversation in self.live:
            if conversation.chunks and conversation.slot is not None:
                at, chunk = conversation.chunks.popleft()
                conversation.taken += 1
                arrivals.append(at)
                tensor = torch.from_numpy(chunk).to(device=self.stepper.device)[None, None]
                audio[conversation.slot] = tensor
                owners[conversation.slot] = conversation
        outputs = await self._model(self.stepper.frame, audio)
        ended = time.monotonic()
        self.metrics.tick.observe(ended - started)
        # An answer is late when it leaves more than a frame's time after its audio came in.
        self.metrics.frames_late.inc(sum(ended - at > FRAME_S for at in arrivals))
        for slot, output in outputs.items():
            conversation = owners[slot]
            if output.pcm is None or output.text_token is None:
                continue
            conversation.writer.append_pcm(output.pcm[0, 0].cpu().numpy())
            if output.text_token not in SILENT_TOKENS:
                piece = self.piece(output.text_token).replace("\u2581", " ")
                conversation.outgoing.put_nowait(bytes([Kind.TEXT]) + piece.encode())
        return min(arrivals, default=started)


def prompt_deadline(arrived: float) -> float:
    """Until when a joining conversation's prompt steps may run after a frame whose audio
    arrived at ``arrived`` (monotonic seconds), even if another frame is due: until the next
    frame's audio is expected. Frames that run late leave none of it; one step runs after each
    frame in any case, or a full batch would never let anyone in."""
    return arrived + FRAME_S - PROMPT_MARGIN_S


def prompt_budget(wait: float, owed: bool, until: float, now: float, live: bool) -> float | None:
    """Seconds the joining conversations' prompt steps may take now (``inf`` while no
    conversation is ``live``), or None when a frame runs first. ``wait``: seconds until the
    next frame is due (``Scheduler._frame_due``: ``inf`` while no audio waits); ``until``: the
    last frame's :func:`prompt_deadline`, when the next frame's audio is expected; ``owed``: no
    prompt call has run since the last frame, which gets a call of the least size in any case.
    """
    if not live:
        return float("inf")
    left = until - now if wait == float("inf") else max(wait, until - now)
    if left > 0:
        return left
    # Late audio (nothing waits) or a frame always due (a backlog): a call of the least size.
    return 0.0 if owed or wait > 0 else None


class PromptPace:
    """How many prompt steps fit in a budget, from what the calls so far cost per step."""

    def __init__(self) -> None:
        self.step_s = FIRST_STEP_S

    def steps(self, budget_s: float) -> int:
        if budget_s == float("inf"):
            return MAX_PROMPT_STEPS
        return max(MIN_PROMPT_STEPS, min(MAX_PROMPT_STEPS, int(budget_s / self.step_s)))

    def took(self, steps: int, seconds: float) -> None:
        """A call of ``steps`` steps took ``seconds``: the estimate moves halfway there."""
        if steps:
            self.step_s = (self.step_s + seconds / steps) / 2
