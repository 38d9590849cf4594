from collections.abc import Iterator

import pytest

from tests.support.personaplex import PersonaPlexProcess, TinyPersonaPlex, personaplex_server
from tests.support.personaplex.fixtures import tiny_personaplex

__all__ = ["tiny_personaplex"]


@pytest.fixture(scope="module")
def server(tiny_personaplex: TinyPersonaPlex) -> Iterator[PersonaPlexProcess]:
    """The real server with the tiny model, natively; one per test module."""
    with personaplex_server(tiny_personaplex) as process:
        yield process
