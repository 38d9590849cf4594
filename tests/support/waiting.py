"""Waiting, in async tests, for something another task or server does: poll a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], object], what: str, timeout: float = 10) -> None:
    """Return as soon as ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds
    (a generous bound that only catches hangs, never a pause that lets things settle)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)
