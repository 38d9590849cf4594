"""What a backend says about itself in its upgrade response: its kind, and how many sessions
it holds at once. The session reads it as a session opens; the pool believes it."""

from __future__ import annotations

from dataclasses import dataclass

from websockets.http11 import Response

from scenario6.facts.slots import SLOTS_HEADER
from scenario6.protocol.messages import (
    BATCHED_KIND,
    KIND_HEADER,
    LOOPBACK_KIND,
    PERSONAPLEX_KIND,
)

# Kinds the proxy tells apart; any other backend (upstream sends no kind) is PersonaPlex.
_KINDS = frozenset({LOOPBACK_KIND, BATCHED_KIND})


@dataclass(frozen=True)
class Advertisement:
    """What a backend's upgrade response says about it.

    >>> from websockets.datastructures import Headers
    >>> advertisement(Response(101, "Switching Protocols", Headers({SLOTS_HEADER: "4x"})))
    Advertisement(kind='personaplex', slots=None, malformed='4x')
    """

    kind: str
    slots: int | None = None  # None: not said, or not a count (then see ``malformed``)
    malformed: str | None = None  # a slot count that is not one, as it was sent


def advertisement(response: Response | None) -> Advertisement:
    if response is None:
        return Advertisement(PERSONAPLEX_KIND)
    # A header sent twice says nothing for sure (and Headers.get would raise on it).
    kinds = response.headers.get_all(KIND_HEADER)
    kind = kinds[0] if len(kinds) == 1 and kinds[0] in _KINDS else PERSONAPLEX_KIND
    counts = response.headers.get_all(SLOTS_HEADER)
    if not counts:
        return Advertisement(kind)
    said = ", ".join(counts)
    # Plain ASCII digits only: int() would also take "+4", "4_0" or other scripts' digits.
    # Python refuses to convert thousands of digits (ValueError): not a count either.
    try:
        slots = int(said) if said.isascii() and said.isdecimal() else 0
    except ValueError:
        slots = 0
    return Advertisement(kind, slots) if slots >= 1 else Advertisement(kind, malformed=said)
