"""Warm-up: before the port opens, everything a live frame could otherwise be the first to
build is built, and kept.

On a CPU, torch runs convolutions and bfloat16 matrix products through oneDNN, which
just-in-time builds a kernel ("primitive") for every new shape and keeps the most recently
used ones in a cache of 1,024 by default. The stepper's frames use about 60 shapes per batch
size, so a warm-up of more than about 15 slots fills that cache and evicts its own first
sizes, and the prompt phases' passes evict more: the first live frame at such a size then
rebuilds dozens of kernels (at 16 slots, 49 of them, and the frame took about twice its
usual time). :func:`keep_kernels` makes the cache hold every size the server will use.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import torch

from .stepper import Stepper

log = logging.getLogger("scenario6.batched")

WARM_UP_FRAMES = 4  # as upstream's server does after loading
# oneDNN's own setting (it reads it once, when it builds its first kernel).
KERNEL_CACHE_ENV = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"
ONEDNN_DEFAULT = 1024  # the cache oneDNN keeps unless told otherwise
# Kernels per batch size, with room: about 30 were counted on the tiny model at 32 and 48
# slots (ONEDNN_VERBOSE=profile_create; 55 to 66 while Mimi's convolutions went to oneDNN),
# and the full-size Mimi and LM have the same shapes' kinds; the prompt phases' passes add a
# few per length of pass.
KERNELS_PER_SIZE = 96


def keep_kernels(slots: int) -> None:
    """Make oneDNN's kernel cache hold what ``slots`` slots use, unless the operator set it;
    call before torch's first convolution or matrix product."""
    os.environ.setdefault(KERNEL_CACHE_ENV, str(ONEDNN_DEFAULT + KERNELS_PER_SIZE * slots))


def warm_up(stepper: Stepper, voices: Path, frame_size: int) -> float:
    """Every slot through a prompt phase and every batch size through frames, so that no
    live frame is the first to select kernels, allocate or compile for its batch size or its
    rows; the seconds it took (0 without a ``.pt`` voice to warm up with)."""
    voice = next((p for p in sorted(voices.glob("*.pt"))), None)
    if voice is None:
        return 0.0
    began = time.perf_counter()
    with torch.no_grad():
        slots = [stepper.join(str(voice), [], seed=n) for n in range(len(stepper.slots))]
        for slot in slots:
            while not stepper.prompt(slot, 64):
                pass
        silence = torch.zeros(1, 1, frame_size, device=stepper.device)
        # From all slots live down to one: each size runs its frames, the first of which
        # (a slot's delays still filling) decode nothing and the later ones decode.
        while slots:
            for _ in range(WARM_UP_FRAMES):
                stepper.frame(dict.fromkeys(slots, silence))
            stepper.leave(slots.pop())
    seconds = time.perf_counter() - began
    log.info(
        "warm-up: %d slots and batch sizes 1 to %d in %.1f s",
        len(stepper.slots),
        len(stepper.slots),
        seconds,
    )
    return seconds
