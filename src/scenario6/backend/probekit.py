"""What the model probes share: the fork's models with random weights, the prompts they replay,
their common options and their one JSON object of output.

The probes (``modelprobe``: one conversation as upstream's server runs it; ``batchprobe``: N
conversations on the batched stepper) run in an interpreter that has torch and PersonaPlex's
``moshi`` fork. This module is also imported where neither is installed (the benchmarks read
its constants), so it imports them only when a model is built.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11 on

from scenario6.backend import architecture
from scenario6.backend.conventions import session_generator
from scenario6.backend.model_folder import VOICES
from scenario6.protocol.voices import DEFAULT_VOICE

# Without a tokenizer: about 4 characters a token, for English with a 32k-piece vocabulary.
CHARS_PER_TOKEN = 4
# Without a voice prompt file: this many frames of random embeddings (8 s of voice).
ASSUMED_VOICE_FRAMES = 100
# The batch probe's defaults: live conversations to time, and ticks timed at each.
BATCH_LEVELS = (1, 2, 4, 8, 16, 32)
BATCH_FRAMES = 50


class RandomModels:
    """Mimi, the LM and its ``LMGen`` on one device, built by the fork's own loaders after
    :func:`architecture.apply`, with random weights: nothing is read or downloaded, and the
    cost of a frame does not depend on the weights' values."""

    def __init__(self, device: str, full_size: bool) -> None:
        self.torch = importlib.import_module("torch")
        self.loaders: Any = importlib.import_module("moshi.models.loaders")
        self.device = self.torch.device(device)
        self.overrides = architecture.FULL_SIZE if full_size else architecture.TINY
        architecture.apply(self.overrides)
        began = time.perf_counter()
        self.mimi = self.random_mimi()
        self.lm = self.loaders.get_moshi_lm(None, device=self.device)
        self.lm.eval()
        rate = self.mimi.frame_rate
        self.frame_size = int(self.mimi.sample_rate / rate)
        self.lm_gen = session_generator(self.lm, self.mimi, self.device)
        self.load_s = time.perf_counter() - began

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Self:
        """The models a probe's options (:func:`add_arguments`) ask for, on their device."""
        if args.threads:
            importlib.import_module("torch").set_num_threads(args.threads)
        return cls(args.device or default_device(), args.full_size)

    def random_mimi(self) -> Any:
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

    def noise(self) -> Any:
        """80 ms of quiet noise in host memory, as the server's Opus decoder hands it over."""
        return (self.torch.rand(self.frame_size) - 0.5) * 0.1

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


@dataclass(frozen=True)
class Prompts:
    """The voice prompt and the persona tokenizer a probe replays."""

    voice: Path  # the file the prompt phase reads
    voice_file: Path | None  # None: random embeddings written for this run
    voice_frames: int
    tokenizer_file: Path | None  # None: tokens estimated at CHARS_PER_TOKEN characters each
    encode: Callable[[str], list[int]]

    def describe(self) -> dict[str, Any]:
        return {
            "voice_prompt": {
                "frames": self.voice_frames,
                "file": self.voice_file and str(self.voice_file),
            },
            "tokenizer": self.tokenizer_file and str(self.tokenizer_file),
        }


def prompts(models: RandomModels, args: argparse.Namespace, scratch: Path) -> Prompts:
    """The prompts for ``args`` (see :func:`_prompt_files`); random voice embeddings are
    written to ``scratch`` when no voice prompt file fits."""
    tokenizer_file, voice_file = _prompt_files(args, models.loaders)
    voice = voice_file or models.random_voice_prompt(scratch, ASSUMED_VOICE_FRAMES)
    encode = tokenizer(tokenizer_file, models.lm.text_card)
    return Prompts(voice, voice_file, models.voice_frames(voice), tokenizer_file, encode)


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


def counts(text: str, most: int | None = None) -> list[int]:
    """``"1,2,4"`` as sorted distinct counts of at least 1 (and at most ``most``)."""
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of counts") from None
    if not values or values[0] < 1 or (most is not None and values[-1] > most):
        limit = f"between 1 and {most}" if most is not None else "at least 1"
        raise ValueError(f"{text!r}: give counts {limit}")
    return values


def default_device() -> str:
    return "cuda" if importlib.import_module("torch").cuda.is_available() else "cpu"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every probe takes: which model, where, and which prompts."""
    parser.add_argument("--full-size", action="store_true", help="upstream's 7B sizes")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda if present")
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


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser``'s arguments, with those of :func:`add_arguments` checked."""
    args = parser.parse_args(argv)
    args.model_dir = args.model_dir and Path(args.model_dir)
    if args.frames < 1 or args.warm_up < 0:
        parser.error("--frames must be at least 1 and --warm-up at least 0")
    return args


def main(measure: Callable[[], dict[str, Any]]) -> int:
    """Run ``measure`` without gradients, offline, and print its result as one JSON object."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a probe never downloads
    torch = importlib.import_module("torch")
    # The fork prints progress on stdout, which is the probe's JSON alone.
    with torch.no_grad(), contextlib.redirect_stdout(sys.stderr):
        result = measure()
    json.dump(result, sys.stdout)
    print()
    return 0
