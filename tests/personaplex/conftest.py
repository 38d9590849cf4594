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
# Audio that may wait for the model per conversation: above the default (10 s), so that the
# 20 s catch-up of test_one_joins_while_the_others_still_have_a_backlog stays within it.
MAX_BACKLOG_S = 30


@pytest.fixture(scope="module")
def server(tiny_personaplex: TinyPersonaPlex) -> Iterator[PersonaPlexProcess]:
    """The real server with the tiny model, natively; one per test module."""
    with personaplex_server(tiny_personaplex) as process:
        yield process


@pytest.fixture(scope="module")
def batched(tiny_personaplex: TinyPersonaPlex) -> Iterator[PersonaPlexProcess]:
    """The batched server holding SLOTS conversations, natively; one per test module."""
    with personaplex_server(
        tiny_personaplex,
        arguments=["--slots", str(SLOTS), "--max-backlog-s", str(MAX_BACKLOG_S)],
        module=BATCHED,
    ) as process:
        yield process
