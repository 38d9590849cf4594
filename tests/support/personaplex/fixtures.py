"""Pytest fixtures for the real PersonaPlex server with the tiny model.

In a conftest: ``from tests.support.personaplex.fixtures import tiny_personaplex``
"""

from __future__ import annotations

import pytest

from tests.support.docker import _missing

from .tiny import TinyPersonaPlex

__all__ = ["tiny_personaplex"]


@pytest.fixture(scope="session")
def tiny_personaplex() -> TinyPersonaPlex:
    """Built once per machine (cached), checked once per session.

    Locally, a machine with neither the vendored source nor GitHub skips; CI builds or fails.
    """
    tiny = TinyPersonaPlex.default()
    reason = tiny.unavailable()
    if reason:
        _missing(reason)
    return tiny.ensure()
