"""Forwarded headers count only from TRUSTED_PROXIES: a client cannot spoof its address past
the per-client session limit, and behind a proxy each real client has a limit of its own.

The frontend runs as ``scenario6 frontend`` (the served configuration); clients bind to
127.0.0.1 or 127.0.0.2 to be different peers, and 127.0.0.2 plays the reverse proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import ValidationError
from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from scenario6.bench.harness import ChildServer
from scenario6.frontend.proxy import closes
from scenario6.frontend.settings import FrontendSettings
from scenario6.frontend.trust import RealClient, client_address
from tests.support.client import Conversation, conversation
from tests.support.servers import RunningLoopback, frontend_process, loopback_server

PROXY = "127.0.0.2"
USER_A, USER_B, USER_C = "198.51.100.1", "198.51.100.2", "198.51.100.3"


@contextlib.contextmanager
def frontend(lb: RunningLoopback, trusted: str = "") -> Iterator[tuple[ChildServer, int]]:
    env = {"MOSHI_WS_URL": lb.url, "MAX_SESSIONS_PER_CLIENT": "1", "TRUSTED_PROXIES": trusted}
    with frontend_process(env) as (process, port):
        try:
            yield process, port
        finally:
            print(process.output()[-3000:])  # shown when the test fails


@contextlib.asynccontextmanager
async def session(port: int, source: str, **headers: str) -> AsyncIterator[Conversation]:
    """A session from ``source``, with these headers (``_`` for ``-`` in their names)."""
    url = f"ws://127.0.0.1:{port}/api/chat?voice_prompt=NATF2.pt&events=1"
    extra = {name.replace("_", "-"): value for name, value in headers.items()}
    async with conversation(url, local_addr=(source, 0), additional_headers=extra) as talk:
        yield talk


async def test_a_client_cannot_spoof_its_address_past_the_session_limit() -> None:
    async with loopback_server() as lb:
        with frontend(lb) as (_, port):
            async with session(port, "127.0.0.1", X_Forwarded_For=USER_A) as first:
                assert await first.admitted()
                for spoof in (
                    {"X_Forwarded_For": USER_B},
                    {"Forwarded": f"for={USER_B}"},
                    {"X_Real_IP": USER_B},
                ):
                    async with session(port, "127.0.0.1", **spoof) as second:
                        assert not await second.admitted(), spoof
                        assert second.close_code == closes.TOO_MANY_SESSIONS
                        assert "too many sessions" in (second.close_reason or "")


async def test_behind_a_trusted_proxy_each_real_client_has_its_own_limit() -> None:
    async with loopback_server() as lb:
        with frontend(lb, trusted=f"{PROXY},10.0.0.0/8") as (process, port):
            async with (
                session(port, PROXY, X_Forwarded_For=USER_A) as a,
                session(port, PROXY, X_Forwarded_For=f"{USER_B}, 10.1.2.3") as b,
                session(port, PROXY, X_Forwarded_For=f"{USER_B}:4711") as b_again,
                # What the client wrote before the proxy appended its address is not believed.
                session(port, PROXY, X_Forwarded_For=f"203.0.113.9, {USER_A}") as a_again,
            ):
                assert await a.admitted()
                assert await b.admitted()  # queued behind a: one backend
                assert not await b_again.admitted()
                assert not await a_again.admitted()
                assert a_again.close_code == b_again.close_code == closes.TOO_MANY_SESSIONS
            # The proxy itself, sending nothing, is one more client.
            async with session(port, PROXY) as proxy_itself:
                assert await proxy_itself.admitted()
            # The access log names the people, not the proxy.
            log = process.output()
            assert f'{USER_B}:0 - "WebSocket /api/chat' in log
            assert f"{PROXY}:" in log  # the proxy's own session


def client_of(*headers: tuple[str, str], header: str = "x-forwarded-for") -> str:
    """The client the frontend sees for a connection from the trusted PROXY with ``headers``,
    when the proxy names the client in ``header`` (FORWARDED_HEADER)."""
    scope = {
        "type": "http",
        "client": (PROXY, 50000),
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
    }
    settings = FrontendSettings(trusted_proxies=PROXY, forwarded_header=header)
    seen: list[str] = []

    async def app(inner: Scope, receive: Receive, send: Send) -> None:
        seen.append(client_address(HTTPConnection(inner)))

    async def nothing() -> dict[str, object]:
        return {}

    async def ignore(message: object) -> None:
        pass

    asyncio.run(RealClient(app, settings)(scope, nothing, ignore))
    [client] = seen
    return client


def test_forwarded_addresses_with_ports_or_brackets_name_the_client() -> None:
    assert client_of(("X-Forwarded-For", "203.0.113.5:4444")) == "203.0.113.5"
    assert client_of(("X-Forwarded-For", "[2001:db8::1]")) == "2001:db8::1"
    assert client_of(("X-Forwarded-For", "[2001:db8::1]:443")) == "2001:db8::1"
    assert client_of(("X-Forwarded-For", "2001:db8::2")) == "2001:db8::2"
    forwarded = ("Forwarded", f'for="{USER_B}:4711";proto=https')
    assert client_of(forwarded, header="forwarded") == USER_B


def test_only_the_header_the_proxy_sets_names_the_client() -> None:
    """A proxy passes on the forwarded headers it does not set itself: a client wrote them."""
    headers = (("Forwarded", f"for={USER_A}"), ("X-Forwarded-For", USER_B), ("X-Real-IP", USER_C))
    assert client_of(*headers) == USER_B
    assert client_of(*headers, header="forwarded") == USER_A
    assert client_of(*headers, header="x-real-ip") == USER_C
    # A proxy that sets none of them is its own client, whatever its clients wrote.
    assert client_of(("Forwarded", f"for={USER_A}"), ("X-Real-IP", USER_C)) == PROXY


def test_the_forwarded_header_is_one_a_proxy_can_set() -> None:
    assert FrontendSettings(forwarded_header=" X-Real-IP ").forwarded_header == "x-real-ip"
    with pytest.raises(ValidationError):
        FrontendSettings(forwarded_header="x-forwarded-host")
