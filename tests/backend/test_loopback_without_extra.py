"""The loopback backend without its extra installed: one line saying how to get it."""

from __future__ import annotations

import subprocess
import sys

BLOCK_AIOHTTP = (
    "import sys; sys.modules['aiohttp'] = None; "  # as if the 'loopback' extra were missing
    "from scenario6.backend.loopback_main import main; raise SystemExit(main([]))"
)


def test_missing_extra_is_named_with_the_fix() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_AIOHTTP], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "needs the 'loopback' extra (aiohttp is missing)" in done.stderr
    assert "setup_scenario6.py" in done.stderr and "Traceback" not in done.stderr
