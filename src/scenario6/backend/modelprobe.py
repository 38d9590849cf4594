"""What one PersonaPlex conversation costs on this device: per 80 ms frame, and to the handshake.

Run in an interpreter that has torch and PersonaPlex's ``moshi`` fork (the backend image, or
the test-support venv)::

    python -m scenario6.backend.modelprobe                  # tiny random model, CPU
    python -m scenario6.backend.modelprobe --full-size      # upstream's 7B sizes, random weights

The models are built by the fork's own loaders after :func:`architecture.apply`, with random
weights (nothing is read or downloaded: the cost of a frame does not depend on the weights'
values). Then it does the server's work in the server's order: its warm-up, the prompt phase
of a session (voice prompt, silence, the persona one token per step, silence) for a short
persona, frames as the session loop runs them (two Mimi encodes, the LM step, two Mimi
decodes, the copy back to the host), and the prompt phase again for a 1000-character persona.
It prints one JSON object with the raw timings; ``scenario6 bench model`` summarises them.
Opus decoding and encoding (``sphn``, on the CPU) are not part of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scenario6.backend import probekit
from scenario6.backend.conventions import system_tags
from scenario6.backend.probekit import Prompts, RandomModels
from scenario6.protocol.messages import FRAME_S
from scenario6.protocol.voices import DEFAULT_PERSONA, PERSONA_MAX_CHARS, PERSONAS

# The server waits up to 10 ms for a client message before each prompt step (its liveness
# check); a client that sends nothing before the handshake makes it wait the whole 10 ms.
LIVENESS_WAIT_S = 0.01


def long_persona() -> str:
    """The UI's presets one after another, cut to the longest persona a client may send."""
    text = " ".join(persona.prompt for persona in PERSONAS)
    while len(text) < PERSONA_MAX_CHARS:
        text += " " + text
    return text[:PERSONA_MAX_CHARS]


class Probe(RandomModels):
    """The fork's models on one device, driven the way its server drives them.

    >>> probe = Probe("cpu", full_size=False)  # doctest: +SKIP
    >>> probe.warm_up(4); probe.frames(10)["frame"]  # doctest: +SKIP
    [26.1, 25.9, 27.3, 26.0, 26.4, 25.8, 26.2, 26.9, 26.1, 26.3]
    """

    def __init__(self, device: str, full_size: bool) -> None:
        super().__init__(device, full_size)
        began = time.perf_counter()
        self.other_mimi = self.random_mimi()  # the server encodes and decodes twice
        for model in (self.mimi, self.other_mimi, self.lm_gen):
            model.streaming_forever(1)
        self.load_s += time.perf_counter() - began

    def warm_up(self, frames: int) -> None:
        """The server's own warm-up after loading: silent frames through every model."""
        for _ in range(frames):
            self.frame(self.torch.zeros(1, 1, self.frame_size, device=self.device))

    def frame(self, chunk: Any) -> tuple[float, float, float]:
        """One 80 ms frame as the session loop processes it; seconds in encode, LM, decode."""
        encode = step = decode = 0.0
        began = self.now()
        codes = self.mimi.encode(chunk)
        self.other_mimi.encode(chunk)
        encode += self.now() - began
        for index in range(codes.shape[-1]):
            began = self.now()
            tokens = self.lm_gen.step(codes[:, :, index : index + 1])
            step += self.now() - began
            if tokens is None:  # the first steps only fill the model's delays
                continue
            began = self.now()
            pcm = self.mimi.decode(tokens[:, 1:9])
            self.other_mimi.decode(tokens[:, 1:9])
            pcm.cpu().numpy()
            tokens[0, 0, 0].item()  # the text token, which the server sends on
            decode += self.now() - began
        return encode, step, decode

    def frames(self, count: int) -> dict[str, list[float]]:
        """``count`` frames of quiet noise; milliseconds per part and per whole frame."""
        timings: dict[str, list[float]] = {"encode": [], "lm_step": [], "decode": [], "frame": []}
        for _ in range(count):
            pcm = self.noise()
            began = self.now()
            encode, step, decode = self.frame(pcm.to(device=self.device)[None, None])
            whole = self.now() - began
            for name, seconds in zip(timings, (encode, step, decode, whole), strict=True):
                timings[name].append(round(seconds * 1000, 4))
        return timings

    def handshake(self, voice_prompt: Path, text_tokens: list[int]) -> dict[str, float | int]:
        """A session's prompt phase, from taking the session lock to sending the handshake."""
        checks = 0
        waited = 0.0

        async def is_alive() -> bool:
            nonlocal checks, waited
            checks += 1
            began = time.perf_counter()
            await asyncio.sleep(LIVENESS_WAIT_S)
            waited += time.perf_counter() - began
            return True

        async def prompts() -> None:
            await self.lm_gen.step_system_prompts_async(self.mimi, is_alive=is_alive)

        began = self.now()
        for model in (self.mimi, self.other_mimi, self.lm_gen):
            model.reset_streaming()
        self.lm_gen.load_voice_prompt_embeddings(str(voice_prompt))
        self.lm_gen.text_prompt_tokens = text_tokens
        asyncio.run(prompts())
        self.mimi.reset_streaming()
        seconds = self.now() - began
        return {"seconds": seconds, "steps": checks, "liveness_wait_s": waited}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    probe = Probe.from_args(args)
    with tempfile.TemporaryDirectory(prefix="modelprobe-") as scratch:
        prompts = probekit.prompts(probe, args, Path(scratch))
        probe.warm_up(args.warm_up)
        short = _handshake(probe, prompts, "short", DEFAULT_PERSONA)
        frames = probe.frames(args.frames)  # a conversation follows the prompt phase
        long = _handshake(probe, prompts, "long", long_persona())
    return {
        "benchmark": "model",
        **probe.describe(),
        "frame_budget_ms": FRAME_S * 1000,
        "warm_up_frames": args.warm_up,
        "frames_ms": frames,
        # None: random embeddings, and tokens counted at CHARS_PER_TOKEN characters each.
        **prompts.describe(),
        "handshakes": [short, long],
    }


def _handshake(probe: Probe, prompts: Prompts, name: str, persona: str) -> dict[str, Any]:
    text_tokens = prompts.encode(system_tags(persona))
    timing = probe.handshake(prompts.voice, text_tokens)
    return {"persona": name, "characters": len(persona), "text_tokens": len(text_tokens)} | timing


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scenario6.backend.modelprobe",
        description="Time the PersonaPlex models' work per 80 ms frame and before the "
        "handshake, with random weights; prints one JSON object.",
    )
    parser.add_argument("--frames", type=int, default=100, help="frames measured (default 100)")
    probekit.add_arguments(parser)
    return probekit.parse(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    return probekit.main(lambda: measure(args))


if __name__ == "__main__":
    sys.exit(main())
