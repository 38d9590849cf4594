from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

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


def pytest_configure(config: pytest.Config) -> None:
    if sys.version_info < (3, 11):
        # Python 3.10's asyncio leaves a TLS transport marked open when the peer closed the
        # connection (3.11 marks it closed), so collecting it warns about a socket that is gone.
        config.addinivalue_line(
            "filterwarnings",
            "ignore:Exception ignored in. <function _SSLProtocolTransport.__del__"
            ":pytest.PytestUnraisableExceptionWarning",
        )


# A test that takes one of these fixtures needs what the marker names, whether or not its module
# says so: the marker then holds for every such test, and the fast tier (scripts/fast-tier.sh,
# `-m "not docker and not browser and not personaplex and not slow"`) leaves them all out.
# tests/personaplex also asks for the real server's fixture by name (request.getfixturevalue):
# all of it is marked.
_NEEDS = {"docker": "docker", "base_image": "docker", "tiny_personaplex": "personaplex"}
_PERSONAPLEX_TESTS = Path(__file__).parent / "personaplex"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        markers = {_NEEDS[name] for name in fixtures if name in _NEEDS}
        if _PERSONAPLEX_TESTS in item.path.parents:
            markers.add("personaplex")
        for marker in sorted(markers):
            item.add_marker(marker)
