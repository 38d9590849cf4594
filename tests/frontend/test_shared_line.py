"""The line that replicas share in a real Redis, driven through one replica's pool.

A client can vanish while its replica's booking script is on its way to Redis. Whatever
the script then does for it (a place in line, a slot) must be taken back: a stale place at
the head of the line holds up everyone behind it until it expires, a lease TTL later.
"""

from __future__ import annotations

import asyncio
import contextlib

import redis

from scenario6.frontend.proxy.pool import Waiter
from scenario6.frontend.proxy.shared import PREFIX, SharedPool
from scenario6.frontend.settings import FrontendSettings
from tests.support.redis import redis_server
from tests.support.waiting import until

# Long enough that nothing the test leaves behind expires on its own while it looks. A new
# Redis also pauses booking for one TTL (proxy/fence.py): every caller here gets a place in
# line, which is what the test watches.
_TTL_S = 60.0
_TRIES = 30


async def test_callers_cancelled_while_joining_the_line_keep_no_place_in_it() -> None:
    with redis_server() as store:
        settings = FrontendSettings(
            moshi_ws_url="ws://127.0.0.1:1",  # type: ignore[arg-type]
            redis_url=store.url,  # type: ignore[arg-type]
            redis_lease_ttl_s=_TTL_S,
        )
        pool = SharedPool(settings)
        await pool.start()
        keys = redis.Redis.from_url(store.url)
        try:
            staying = await pool.enqueue()
            assert not staying.future.done(), "booked during the pause after Redis started"
            # Cancelled after a growing number of turns of the loop: before, while and after
            # the script is in flight (a session cancelled as its replica shuts down).
            for turns in range(_TRIES):
                joining = asyncio.create_task(pool.enqueue())
                for _ in range(turns):
                    await asyncio.sleep(0)
                joining.cancel()
                waiter: Waiter | None = None
                with contextlib.suppress(asyncio.CancelledError):
                    waiter = await joining
                if waiter is not None:  # it joined before the cancel: it leaves as a client does
                    pool.leave(waiter)
            # A place the bug leaves lands within milliseconds and stays; one taken back goes
            # once its script has answered.
            await asyncio.sleep(0.5)
            await until(lambda: keys.zcard(PREFIX + "queue") == 1, "their places taken back")
            assert keys.zrange(PREFIX + "queue", 0, -1) == [staying.id.encode()]
            assert keys.zcard(PREFIX + "queue-expiries") == 1
        finally:
            await pool.close()
