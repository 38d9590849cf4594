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
import contextlib
import importlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from scenario6.backend import architecture
from scenario6.backend.model_folder import VOICES
from scenario6.protocol.voices import DEFAULT_PERSONA, DEFAULT_VOICE, PERSONA_MAX_CHARS, PERSONAS

FRAME_S = 0.08  # 1920 samples at 24 kHz: the model steps at 12.5 Hz
# The server waits up to 10 ms for a client message before each prompt step (its liveness
# check); a client that sends nothing before the handshake makes it wait the whole 10 ms.
LIVENESS_WAIT_S = 0.01
# Without a tokenizer: about 4 characters a token, for English with a 32k-piece vocabulary.
CHARS_PER_TOKEN = 4
# Without a voice prompt file: this many frames of random embeddings (8 s of voice).
ASSUMED_VOICE_FRAMES = 100


def long_persona() -> str:
    """The UI's presets one after another, cut to the longest persona a client may send."""
    text = " ".join(persona.prompt for persona in PERSONAS)
    while len(text) < PERSONA_MAX_CHARS:
        text += " " + text
    return text[:PERSONA_MAX_CHARS]


def system_prompt(persona: str) -> str:
    """The persona as the server hands it to the tokenizer (between system tags)."""
    return f"<system> {persona.strip()} <system>"


class Probe:
    """The fork's models on one device, driven the way its server drives them.

    >>> probe = Probe("cpu", full_size=False)  # doctest: +SKIP
    >>> probe.warm_up(4); probe.frames(10)["frame"]  # doctest: +SKIP
    [26.1, 25.9, 27.3, 26.0, 26.4, 25.8, 26.2, 26.9, 26.1, 26.3]
    """

    def __init__(self, device: str, full_size: bool) -> None:
        self.torch = importlib.import_module("torch")
        self.loaders: Any = importlib.import_module("moshi.models.loaders")
        lm_module = importlib.import_module("moshi.models.lm")
        self.device = self.torch.device(device)
        self.overrides = architecture.FULL_SIZE if full_size else architecture.TINY
        architecture.apply(self.overrides)
        began = time.perf_counter()
        self.mimi = self._random_mimi()
        self.other_mimi = self._random_mimi()
        self.lm = self.loaders.get_moshi_lm(None, device=self.device)
        self.lm.eval()
        rate = self.mimi.frame_rate
        self.frame_size = int(self.mimi.sample_rate / rate)
        self.lm_gen = lm_module.LMGen(
            self.lm,
            device=self.device,
            audio_silence_frame_cnt=int(0.5 * rate),
            sample_rate=self.mimi.sample_rate,
            frame_rate=rate,
        )
        for model in (self.mimi, self.other_mimi, self.lm_gen):
            model.streaming_forever(1)
        self.load_s = time.perf_counter() - began

    def _random_mimi(self) -> Any:
        # get_mimi insists on a weights file; with the file loader made a no-op it keeps the
        # random initialisation and builds exactly what the server builds.
        real_loader = self.loaders.load_model
        self.loaders.load_model = lambda *_args, **_kwargs: None
        try:
            return self.loaders.get_mimi("random.safetensors", self.device)
        finally:
            self.loaders.load_model = real_loader

    def now(self) -> float:
        """A clock reading once the device has finished what was queued."""
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()
        return time.perf_counter()

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
            pcm = (self.torch.rand(self.frame_size) - 0.5) * 0.1  # host memory, like Opus' PCM
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

    def random_voice_prompt(self, folder: Path, frames: int) -> Path:
        """A voice prompt file in the server's format, of random embeddings."""
        path = folder / f"{DEFAULT_VOICE}.pt"
        dim = self.lm.dim
        embeddings = self.torch.randn(frames, 1, 1, dim, dtype=self.torch.bfloat16) * 0.02
        cache_shape = (1, self.lm.num_codebooks, self.lm_gen.max_delay + 3)
        cache = self.torch.randint(0, self.lm.card, cache_shape, dtype=self.torch.long)
        cache[:, 0] = self.lm_gen.zero_text_code  # the text stream is padding during a voice
        self.torch.save({"embeddings": embeddings, "cache": cache}, path)
        return path

    def voice_frames(self, path: Path) -> int:
        embeddings = self.torch.load(path)["embeddings"]
        if embeddings.shape[-1] != self.lm.dim:
            raise ValueError(
                f"{path} was made for a model of dimension {embeddings.shape[-1]}, "
                f"not {self.lm.dim}"
            )
        return int(embeddings.shape[0])

    def describe(self) -> dict[str, Any]:
        torch = self.torch
        cuda = self.device.type == "cuda"
        return {
            "device": self.device.type,
            # A CPU is the machine's, which the report describes already.
            "device_name": torch.cuda.get_device_name(self.device) if cuda else None,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "model": "tiny" if self.overrides else "full-size",
            "architecture": self.overrides,
            "lm_parameters": sum(p.numel() for p in self.lm.parameters()),
            "mimi_parameters": sum(p.numel() for p in self.mimi.parameters()),
            "lm_dtype": str(next(self.lm.parameters()).dtype).removeprefix("torch."),
            "load_s": round(self.load_s, 3),
        }


def _cached(loaders: Any, filename: str) -> Path | None:
    """A file of the real model in the local Hugging Face cache, without any download."""
    try:
        hub: ModuleType = importlib.import_module("huggingface_hub")
    except ImportError:
        return None
    found = hub.try_to_load_from_cache(loaders.DEFAULT_REPO, filename)
    return Path(found) if isinstance(found, str) else None


def tokenizer(path: Path | None, text_card: int) -> Callable[[str], list[int]]:
    """How a persona becomes token ids: with the tokenizer at ``path``, else estimated."""
    if path is None:

        def estimate(text: str) -> list[int]:
            # Only the count costs time; ids above the specials stand in for real ones.
            return [4 + i % (text_card - 4) for i in range(math.ceil(len(text) / CHARS_PER_TOKEN))]

        return estimate
    model = importlib.import_module("sentencepiece").SentencePieceProcessor(str(path))

    def encode(text: str) -> list[int]:
        # A tokenizer larger than a tiny model's vocabulary still gives the right count.
        return [token % text_card for token in model.encode(text)]

    return encode


def _prompt_files(args: argparse.Namespace, loaders: Any) -> tuple[Path | None, Path | None]:
    """The tokenizer and voice prompt to use: given, from a model folder, from the Hugging
    Face cache (the full size only: a tiny model's voices would not fit it), or None."""
    tokenizer, voice = args.tokenizer, args.voice_prompt
    voice_name = f"{DEFAULT_VOICE}.pt"
    if args.model_dir:
        tokenizer = tokenizer or args.model_dir / loaders.TEXT_TOKENIZER_NAME
        voice = voice or args.model_dir / VOICES / voice_name
    tokenizer = tokenizer or _cached(loaders, loaders.TEXT_TOKENIZER_NAME)
    voices = _cached(loaders, "voices.tgz")  # the server unpacks it beside itself
    if voice is None and args.full_size and voices and (voices.parent / VOICES).is_dir():
        voice = voices.parent / VOICES / voice_name
    return tokenizer, voice


def measure(args: argparse.Namespace) -> dict[str, Any]:
    if args.threads:
        importlib.import_module("torch").set_num_threads(args.threads)
    probe = Probe(args.device or _default_device(), args.full_size)
    tokenizer_file, voice_file = _prompt_files(args, probe.loaders)
    encode = tokenizer(tokenizer_file, probe.lm.text_card)
    with tempfile.TemporaryDirectory(prefix="modelprobe-") as scratch:
        voice = voice_file or probe.random_voice_prompt(Path(scratch), ASSUMED_VOICE_FRAMES)
        voice_frames = probe.voice_frames(voice)
        probe.warm_up(args.warm_up)
        short = _handshake(probe, voice, encode, "short", DEFAULT_PERSONA)
        frames = probe.frames(args.frames)  # a conversation follows the prompt phase
        long = _handshake(probe, voice, encode, "long", long_persona())
    return {
        "benchmark": "model",
        **probe.describe(),
        "frame_budget_ms": FRAME_S * 1000,
        "warm_up_frames": args.warm_up,
        "frames_ms": frames,
        # None: random embeddings, and tokens counted at CHARS_PER_TOKEN characters each.
        "voice_prompt": {"frames": voice_frames, "file": voice_file and str(voice_file)},
        "tokenizer": tokenizer_file and str(tokenizer_file),
        "handshakes": [short, long],
    }


def _handshake(
    probe: Probe, voice: Path, encode: Callable[[str], list[int]], name: str, persona: str
) -> dict[str, Any]:
    text_tokens = encode(system_prompt(persona))
    timing = probe.handshake(voice, text_tokens)
    return {"persona": name, "characters": len(persona), "text_tokens": len(text_tokens)} | timing


def _default_device() -> str:
    return "cuda" if importlib.import_module("torch").cuda.is_available() else "cpu"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scenario6.backend.modelprobe",
        description="Time the PersonaPlex models' work per 80 ms frame and before the "
        "handshake, with random weights; prints one JSON object.",
    )
    parser.add_argument("--full-size", action="store_true", help="upstream's 7B sizes")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda if present")
    parser.add_argument("--frames", type=int, default=100, help="frames measured (default 100)")
    parser.add_argument("--warm-up", type=int, default=4, help="the server's warm-up frames")
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's)")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=os.environ.get("MOSHI_MODEL_DIR") or None,
        help="a model folder whose tokenizer and voice prompt to use (default: MOSHI_MODEL_DIR)",
    )
    parser.add_argument("--tokenizer", type=Path, help="a sentencepiece model for the personas")
    parser.add_argument("--voice-prompt", type=Path, help="a voice prompt .pt for the model")
    args = parser.parse_args(argv)
    args.model_dir = args.model_dir and Path(args.model_dir)
    if args.frames < 1 or args.warm_up < 0:
        parser.error("--frames must be at least 1 and --warm-up at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a probe never downloads
    torch = importlib.import_module("torch")
    # The fork prints progress on stdout, which is this probe's JSON alone.
    with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
        result = measure(args)
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
