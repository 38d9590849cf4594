"""Forged client addresses through the documented reverse proxies: a real nginx and a real
Caddy, configured as docs/security.md shows, in front of a gated frontend.

Clients bind to their own addresses on 127.0.0.0/8 and add every forwarded header a proxy may
pass on (``Forwarded``, ``X-Forwarded-For``, ``X-Real-IP``), naming someone else. None of that
may change whom the frontend sees: not for the sign-in rate limit, not to lock a victim out,
not for the per-client session limit, not in the logs.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from scenario6.bench.harness import ChildServer
from scenario6.frontend.proxy import closes
from tests.support.proxies import NAME, PROXIES, RunningProxy, reverse_proxy, session_via
from tests.support.servers import frontend_process, loopback_server

PASSPHRASE = "shared-passphrase-42"  # one code, no label: limits count per client address
ATTACKER, VICTIM, FRAMER = "127.0.0.2", "127.0.0.3", "127.0.0.4"
ATTEMPTS = 5  # ACCESS_ATTEMPTS_PER_MINUTE's default


def forged(address: str) -> dict[str, str]:
    """Every forwarded header a proxy may pass on, each naming ``address``."""
    return {"Forwarded": f"for={address}", "X-Forwarded-For": address, "X-Real-IP": address}


async def sign_in(
    proxy: RunningProxy, source: str, code: str, headers: dict[str, str]
) -> httpx.Response:
    """``POST /api/signin`` through the proxy from address ``source``, as a browser would."""
    transport = httpx.AsyncHTTPTransport(
        local_address=source, verify=ssl.create_default_context(cafile=str(proxy.ca))
    )
    host = f"{NAME}:{proxy.port}"
    async with httpx.AsyncClient(transport=transport) as http:
        return await http.post(
            f"https://127.0.0.1:{proxy.port}/api/signin",
            json={"code": code},
            headers={"Host": host, "Origin": f"https://{host}", **headers},
            extensions={"sni_hostname": NAME},
        )


@dataclass
class Behind:
    frontend: ChildServer
    proxy: RunningProxy

    def log(self) -> str:
        return self.frontend.output()


@pytest.fixture(params=PROXIES)
async def behind(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Behind]:
    """A gated frontend, one session per client address, behind each documented proxy."""
    async with loopback_server() as lb:
        env = {
            "MOSHI_WS_URL": lb.url,
            "SERVER_NAMES": NAME,
            "TRUSTED_PROXIES": "127.0.0.1",
            "ACCESS_CODES": PASSPHRASE,
            "MAX_SESSIONS_PER_CLIENT": "1",
        }
        with (
            frontend_process(env) as (frontend, frontend_port),
            reverse_proxy(request.param, tmp_path, frontend_port) as proxy,
        ):
            yield Behind(frontend, proxy)


async def test_a_guesser_naming_new_addresses_is_still_rate_limited(behind: Behind) -> None:
    statuses = [
        (
            await sign_in(behind.proxy, ATTACKER, "wrong-guess", forged(f"198.51.100.{n}"))
        ).status_code
        for n in range(2 * ATTEMPTS + 2)
    ]
    assert statuses == [401] * ATTEMPTS + [429] * (ATTEMPTS + 2), statuses


async def test_wrong_codes_in_a_victims_name_do_not_lock_the_victim_out(behind: Behind) -> None:
    for _ in range(ATTEMPTS + 1):
        await sign_in(behind.proxy, FRAMER, "wrong-guess", forged(VICTIM))
    welcome = await sign_in(behind.proxy, VICTIM, PASSPHRASE, {})
    assert welcome.status_code == 200, welcome.text
    # The framer locked out itself instead.
    assert (await sign_in(behind.proxy, FRAMER, PASSPHRASE, {})).status_code == 429


async def test_a_claimed_address_is_no_second_session(behind: Behind) -> None:
    welcome = await sign_in(behind.proxy, VICTIM, PASSPHRASE, {})
    cookie = welcome.headers["set-cookie"].split(";")[0]
    async with session_via(behind.proxy, VICTIM, Cookie=cookie) as first:
        assert await first.admitted()
        headers = forged("198.51.100.200") | {"Cookie": cookie}
        async with session_via(behind.proxy, VICTIM, **headers) as second:
            assert not await second.admitted()
            assert second.close_code == closes.TOO_MANY_SESSIONS


async def test_the_log_names_real_addresses_and_no_forged_one(behind: Behind) -> None:
    await sign_in(behind.proxy, ATTACKER, "wrong-guess", forged("198.51.100.9"))
    welcome = await sign_in(behind.proxy, VICTIM, PASSPHRASE, forged("198.51.100.10"))
    cookie = welcome.headers["set-cookie"].split(";")[0]
    async with session_via(behind.proxy, VICTIM, **forged("198.51.100.11"), Cookie=cookie) as talk:
        assert await talk.admitted()
    log = behind.log()
    assert "198.51.100." not in log, log[-3000:]
    assert f"wrong sign-in code from {ATTACKER}" in log, log[-3000:]
    assert f"signed in: (passphrase) from {VICTIM}" in log, log[-3000:]
    assert f'{VICTIM}:0 - "WebSocket /api/chat' in log, log[-3000:]
