"""The upstream contract, compiled once for the tests here."""

from __future__ import annotations

import pytest

from tests.support.aspire import Upstream, compile_upstream


@pytest.fixture(scope="session")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    return compile_upstream(tmp_path_factory.mktemp("aspire-proto"))
