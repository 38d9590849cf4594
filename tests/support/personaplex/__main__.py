"""``python -m tests.support.personaplex``: build the tiny PersonaPlex and say how to run it."""

from __future__ import annotations

import shlex
import sys
import time

from .tiny import TinyPersonaPlex


def main() -> int:
    started = time.monotonic()
    tiny = TinyPersonaPlex.default()
    reason = tiny.unavailable()
    if reason:
        print(f"cannot build the tiny PersonaPlex here: {reason}", file=sys.stderr)
        return 1
    tiny.ensure()
    print(f"ready in {time.monotonic() - started:.0f}s (cached: rerunning is instant)\n")
    print(f"server interpreter  {tiny.python}")
    print(f"model folder        {tiny.model_dir}")
    print(f"Hugging Face cache  {tiny.hf_home}")
    print(f"architecture        {tiny.architecture}\n")
    environment = " ".join(f"{k}={shlex.quote(v)}" for k, v in tiny.environment().items())
    arguments = ["--host", "127.0.0.1", "--port", "8998", "--device", "cpu"]
    for title, layout in (("flat folder", "flat"), ("upstream's command line, cache", "hf")):
        command = shlex.join(tiny.server_command(arguments, layout))
        print(f"start the real server ({title}):\n  {environment} \\\n    {command}\n")
    print("then point the frontend at it: MOSHI_WS_URL=ws://127.0.0.1:8998 scenario6 frontend")
    return 0


if __name__ == "__main__":
    sys.exit(main())
