"""How many torch operations one frame of the batched stepper runs, against how many
conversations are live.

Run in the tiny model's interpreter (``python -m tests.personaplex.batched_ops MODEL_DIR``
with ``src`` and the checkout on ``PYTHONPATH``); prints one JSON object: per number of live
conversations, the operations a frame dispatched (every aten call, views included), counted
over a few frames, and which operations ran once per conversation or more from two
conversations on. (One conversation alone runs Mimi's convolutions on torch's own one-row path,
and two or more in one product each (``batched/convolution.py``): a fixed difference at two.)
"""

from __future__ import annotations

import collections
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from scenario6.backend import probekit
from scenario6.backend.batchprobe import Batch, parse

LEVELS = (1, 2, 4, 8)
FRAMES = 3


class Count(TorchDispatchMode):
    """Every aten operation dispatched while active, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        self.calls[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def main(model_dir: str) -> dict[str, Any]:
    args = parse(["--model-dir", model_dir, "--threads", "1", "--device", "cpu"])
    models = probekit.RandomModels.from_args(args)
    counts: dict[int, collections.Counter[str]] = {}
    with tempfile.TemporaryDirectory(prefix="batched-ops-") as scratch:
        batch = Batch(models, probekit.prompts(models, args, Path(scratch)), max(LEVELS))
        for level in LEVELS:
            while len(batch.live) < level:
                batch.fill()
            batch.tick()
            count = Count()
            for _ in range(FRAMES):
                audio = {slot: models.noise()[None, None] for slot in batch.live}
                with count:
                    batch.stepper.frame(audio)
            counts[level] = count.calls
    first, last = LEVELS[1], LEVELS[-1]
    extra = counts[last] - counts[first]
    per_row = {name: calls / FRAMES / (last - first) for name, calls in extra.items()}
    return {
        "operations": {level: sum(c.values()) / FRAMES for level, c in counts.items()},
        "per_conversation": {name: n for name, n in sorted(per_row.items()) if n >= 1},
    }


if __name__ == "__main__":
    with torch.no_grad():
        print(json.dumps(main(sys.argv[1])))
