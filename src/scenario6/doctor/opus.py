"""The system Opus library, which a backend running natively (not in a container) needs."""

from __future__ import annotations

import ctypes.util

from .result import CheckResult, Context, Status


def check_opus(ctx: Context, library: str = "opus") -> CheckResult:
    found = ctypes.util.find_library(library)
    if found is None:
        return CheckResult(
            "libopus",
            Status.FAIL,
            f"lib{library} not found",
            "install it: `sudo apt-get install libopus0` (Debian/Ubuntu), `brew install opus`",
        )
    return CheckResult("libopus", Status.OK, found)
