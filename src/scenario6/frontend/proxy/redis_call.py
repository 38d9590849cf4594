"""A Redis script called for a client that may leave while it runs.

Cancelling the call does not unsend it: redis-py drops the connection, and Redis runs the
script anyway. A session counted, or a slot booked, for a caller that never saw the answer
would then hold until its lease expired, and a person who reconnects at once would find
their own ghost counted against their limit. So the call runs to its end, and what it did
is taken back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def guarded(
    call: Awaitable[T],
    undo: Callable[[T], Awaitable[object] | None],
    chore: Callable[[Awaitable[object]], None],
) -> T:
    """``call``'s result. If the caller is cancelled first, ``call`` still runs, and once it
    has succeeded, ``undo(result)`` (a write, or None for nothing to take back) is run by
    ``chore``, which runs writes nobody waits for."""
    running = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:

        def settle(done: asyncio.Future[T]) -> None:
            if done.cancelled() or done.exception() is not None:
                return  # a failed call: whatever it left expires with its lease
            work = undo(done.result())
            if work is not None:
                chore(work)

        running.add_done_callback(settle)
        raise
