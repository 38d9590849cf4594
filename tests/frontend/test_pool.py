"""The pool's queueing rules, which keep a busy backend from ever getting a second session."""

from __future__ import annotations

from scenario6.frontend.proxy.pool import BackendPool
from scenario6.frontend.settings import FrontendSettings


def _pool(urls: str) -> BackendPool:
    return BackendPool(FrontendSettings(moshi_ws_url=urls))  # type: ignore[arg-type]


async def test_first_come_first_served() -> None:
    pool = _pool("ws://127.0.0.1:1")
    first = await pool.enqueue()
    second = await pool.enqueue()
    third = await pool.enqueue()
    assert first.future.done() and not second.future.done()
    assert (second.positions.get_nowait(), third.positions.get_nowait()) == (1, 2)
    pool.release(first.future.result())
    assert second.future.done() and not third.future.done()
    assert third.positions.get_nowait() == 1


async def test_leaving_the_queue_keeps_the_order_and_frees_a_handed_backend() -> None:
    pool = _pool("ws://127.0.0.1:1")
    first, second, third = await pool.enqueue(), await pool.enqueue(), await pool.enqueue()
    pool.leave(second)
    backend = first.future.result()
    pool.release(backend)
    assert third.future.result() is backend
    pool.leave(third)  # a client that left right after being served gives the backend back
    assert not backend.busy


async def test_a_backend_is_never_handed_out_twice() -> None:
    pool = _pool("ws://127.0.0.1:1,ws://127.0.0.1:2")
    waiters = [await pool.enqueue() for _ in range(4)]
    served = [w.future.result() for w in waiters if w.future.done()]
    assert len(served) == 2 and served[0] is not served[1]


async def test_localhost_counts_as_one_backend() -> None:
    pool = _pool("ws://localhost:8998")
    await pool.refresh()
    assert len(pool.backends) == 1


async def test_describe_names_every_configured_url() -> None:
    pool = _pool("http://a:1,https://b:2")
    assert [(b["scheme"], b["host"], b["port"]) for b in pool.describe()] == [
        ("ws", "a", 1),
        ("wss", "b", 2),
    ]


async def test_a_returning_client_is_first_in_line_whatever_the_queue_length() -> None:
    pool = _pool("ws://127.0.0.1:1")
    first, second, third = await pool.enqueue(), await pool.enqueue(), await pool.enqueue()
    backend = first.future.result()
    retrying = await pool.enqueue(avoid=frozenset({backend}))
    assert [pool.position(w) for w in (retrying, second, third)] == [1, 2, 3]
