"""``python -m scenario6.backend.batched [moshi.server arguments] --slots N|auto``.

Takes upstream's command line (so the entrypoint starts it exactly as it starts
``moshi_main``), loads the same files the same way, and serves N conversations at once.
``--static`` and ``--cpu-offload`` are accepted and ignored: this server has no web UI, and
offloading layers to the CPU would defeat the point of batching.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tarfile
from pathlib import Path
from typing import Any

import sentencepiece
import torch
from huggingface_hub import hf_hub_download
from moshi.models import loaders
from moshi.utils.connection import create_ssl_context

from scenario6.backend.conventions import session_generator
from scenario6.backend.drain import Drain, serve
from scenario6.backend.metrics import metrics_port
from scenario6.backend.moshi_main import prepare
from scenario6.backend.options import add_drain_timeout
from scenario6.facts.names import BACKEND_PORT, METRICS_ENV
from scenario6.facts.slots import AUTO, SLOTS_OPTION, Slots, SlotsError, parse_slots
from scenario6.protocol.limits import MAX_BACKLOG_S

from .rows import slot_bytes
from .scheduler import Scheduler
from .server import ChatServer
from .stepper import Stepper
from .warmup import keep_kernels, warm_up

log = logging.getLogger("scenario6.batched")

CPU_SLOTS = 4  # "auto" without a GPU: a small model for tests and demonstrations
MAX_SLOTS = 64  # what auto chooses at most
HEADROOM = 0.85  # of the free GPU memory, for activations and the allocator's slack


def slots_argument(value: str) -> Slots:
    try:
        return parse_slots(value, SLOTS_OPTION)
    except SlotsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scenario6.backend.batched",
        description="PersonaPlex with several conversations per model, one batched pass a frame.",
    )
    # Like upstream's server it binds every interface; --host is only shown.
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=BACKEND_PORT)
    parser.add_argument("--static", help="ignored: this server has no web UI")
    parser.add_argument("--tokenizer")
    parser.add_argument("--moshi-weight")
    parser.add_argument("--mimi-weight")
    parser.add_argument("--hf-repo", default=loaders.DEFAULT_REPO)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--cpu-offload", action="store_true", help="ignored")
    parser.add_argument("--voice-prompt-dir")
    parser.add_argument("--ssl", help="a folder with cert.pem and key.pem: serve wss")
    parser.add_argument(
        SLOTS_OPTION,
        type=slots_argument,
        default=AUTO,
        help="conversations held at once (default auto: from free GPU memory; 4 on a CPU)",
    )
    parser.add_argument(
        "--max-backlog-s",
        type=float,
        default=MAX_BACKLOG_S,
        help="end a conversation with more audio than this waiting for the model "
        f"(default {MAX_BACKLOG_S:g})",
    )
    add_drain_timeout(parser)
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help=f"serve Prometheus metrics on this port (default: {METRICS_ENV}, else off)",
    )
    return parser.parse_args(argv)


def choose_slots(requested: Slots, lm: Any, device: torch.device) -> int:
    """``--slots``, or as many as the free GPU memory holds at HEADROOM."""
    if isinstance(requested, int):
        return requested
    if device.type != "cuda":
        return CPU_SLOTS
    free, _ = torch.cuda.mem_get_info(device)
    return max(1, min(MAX_SLOTS, int(free * HEADROOM // slot_bytes(lm))))


def voices_folder(given: str | None, repo: str) -> Path:
    """``--voice-prompt-dir``, else upstream's voices.tgz unpacked beside its download."""
    if given:
        return Path(given)
    archive = Path(hf_hub_download(repo, "voices.tgz"))
    folder = archive.parent / "voices"
    if not folder.is_dir():
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(archive.parent, filter="data")
    return folder


def load(args: argparse.Namespace) -> tuple[ChatServer, int]:
    device = torch.device(args.device)

    def fetch(given: str | None, name: str) -> str:
        return given or str(hf_hub_download(args.hf_repo, name))

    mimi = loaders.get_mimi(fetch(args.mimi_weight, loaders.MIMI_NAME), device)
    tokenizer = sentencepiece.SentencePieceProcessor(
        fetch(args.tokenizer, loaders.TEXT_TOKENIZER_NAME)
    )
    lm = loaders.get_moshi_lm(fetch(args.moshi_weight, loaders.MOSHI_NAME), device=device)
    lm.eval()
    frame_size = int(mimi.sample_rate / mimi.frame_rate)
    lm_gen = session_generator(lm, mimi, device)
    slots = choose_slots(args.slots, lm, device)
    stepper = Stepper(lm_gen, mimi, slots)
    voices = voices_folder(args.voice_prompt_dir, args.hf_repo)
    warm_up(stepper, voices, frame_size)
    scheduler = Scheduler(stepper, tokenizer.id_to_piece, frame_size)
    server = ChatServer(
        scheduler,
        tokenizer.encode,
        voices,
        mimi.sample_rate,
        max_backlog_s=args.max_backlog_s,
        drain=Drain(args.drain_timeout_s),
    )
    return server, slots


def start(args: argparse.Namespace) -> tuple[ChatServer, int]:
    """The server, loaded and warmed up, and how many conversations it holds."""
    prepare()
    # Before the model loads: a CPU's kernels are built from its first convolution on.
    keep_kernels(args.slots if isinstance(args.slots, int) else MAX_SLOTS)
    return load(args)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse(argv)
    metrics = args.metrics_port if args.metrics_port is not None else metrics_port()
    server, slots = start(args)
    ssl_context = create_ssl_context(args.ssl)[0] if args.ssl else None
    if metrics:
        # Every interface, as the chat port: Prometheus scrapes from the deployment's network.
        server.scheduler.metrics.serve("0.0.0.0", metrics)
    log.info("serving %d conversations at once on port %d", slots, args.port)
    # Like upstream's server it binds every interface (host None); SIGTERM drains.
    asyncio.run(
        serve(server.app(), server.drain, host=None, port=args.port, ssl_context=ssl_context)
    )
    log.info("drained; exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
