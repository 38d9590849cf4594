from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI") == "true"

# The browser fixtures, registered once for every folder (tests/support/browser.py says why).
pytest_plugins = ["tests.support.browser"]


def require_tool(name: str, path: str | None = None) -> str:
    """The path of a tool; skips locally when it is missing, fails in CI (which must install it)."""
    found = path if path and os.path.exists(path) else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (scripts/system-deps.sh installs it)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)
