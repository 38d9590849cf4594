from collections.abc import Iterator

import pytest

from tests.support.personaplex import (
    BATCHED,
    PersonaPlexProcess,
    TinyPersonaPlex,
    personaplex_server,
)
from tests.support.personaplex.fixtures import tiny_personaplex

__all__ = ["tiny_personaplex"]

SLOTS = 3  # conversations the batched server holds in these tests


@pytest.fixture(scope="module")
def server(tiny_personaplex: TinyPersonaPlex) -> Iterator[PersonaPlexProcess]:
    """The real server with the tiny model, natively; one per test module."""
    with personaplex_server(tiny_personaplex) as process:
        yield process


@pytest.fixture(scope="module")
def batched(tiny_personaplex: TinyPersonaPlex) -> Iterator[PersonaPlexProcess]:
    """The batched server holding SLOTS conversations, natively; one per test module."""
    with personaplex_server(
        tiny_personaplex, arguments=["--slots", str(SLOTS)], module=BATCHED
    ) as process:
        yield process
