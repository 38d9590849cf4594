"""Which CPU kernels the batched server builds, and when: during warm-up, during prompt
phases, or in a live frame.

Run in the tiny model's interpreter with the batched server's own arguments::

    python -m tests.personaplex.batched_kernels --slots 32 --device cpu [weight flags]

The server is started as ``python -m scenario6.backend.batched`` starts it (settings, kernel
cache, load, warm-up), with oneDNN reporting every kernel it builds. Then every slot joins, and
frames run at every batch size from all slots live down to one. Prints one JSON object: the
kernels built during warm-up, the joins' prompt phases, and the frames at each batch size.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

# oneDNN reads these once, at its first kernel; nothing has run yet.
os.environ["ONEDNN_VERBOSE"] = "profile_create"
BUILT = "create:cache_miss"  # oneDNN's line for a kernel it had to build
FRAMES = 2  # per batch size
MARK = "scenario-mark "


def main(argv: list[str]) -> dict[str, Any]:
    # oneDNN reports on the C stdout: it goes to a file, the result to the real stdout.
    result_fd = os.dup(1)
    report = tempfile.NamedTemporaryFile(prefix="onednn-", suffix=".log", delete=False)  # noqa: SIM115
    os.dup2(report.fileno(), 1)
    libc = ctypes.CDLL(None)

    def mark(phase: str) -> None:
        sys.stdout.flush()
        libc.fflush(None)
        os.write(1, f"{MARK}{phase}\n".encode())

    import torch

    from scenario6.backend.batched.__main__ import parse, start

    mark("warm-up")
    args = parse(argv)
    server, slots = start(args)
    stepper, frame_size = server.scheduler.stepper, server.scheduler.frame_size
    voice = sorted(Path(args.voice_prompt_dir).glob("*.pt"))[0]
    with torch.no_grad():
        mark("prompts")
        live = [stepper.join(str(voice), [], seed=n) for n in range(slots)]
        for slot in live:
            while not stepper.prompt(slot, 64):
                pass
        silence = torch.zeros(1, 1, frame_size)
        while live:
            mark(f"frames {len(live)}")
            for _ in range(FRAMES):
                stepper.frame(dict.fromkeys(live, silence))
            stepper.leave(live.pop())
    mark("end")
    report.close()
    built: dict[str, int] = {}
    phase = "start"
    for line in Path(report.name).read_text(errors="replace").splitlines():
        if line.startswith(MARK):
            phase = line[len(MARK) :]
            built.setdefault(phase, 0)
        elif BUILT in line:
            built[phase] = built.get(phase, 0) + 1
    os.unlink(report.name)
    result = {
        "slots": slots,
        "kernel_cache": os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY"),
        "warm_up": built.get("warm-up", 0),
        "prompts": built.get("prompts", 0),
        "frames": {str(size): built.get(f"frames {size}", 0) for size in range(slots, 0, -1)},
    }
    os.write(result_fd, json.dumps(result).encode() + b"\n")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
