"""Wrong-code limits wider than one address, against a real frontend: a network's share, and
all clients together as the last line."""

from __future__ import annotations

import logging

import pytest

from tests.access.test_gate import cookie_of, gated, get, sign_in

RIGHT, WRONG = "alice-code-123", "guess-guess"


def client(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def test_the_64s_of_one_ipv6_48_share_a_limit() -> None:
    """Someone holding a /48 has 65,536 /64s: each new one is no new allowance past the
    network's."""
    limits = {"access_attempts_per_minute": 3, "access_network_attempts_per_minute": 4}
    async with gated(trusted_proxies="127.0.0.1", **limits) as (_, fe):
        for subnet in range(4):
            guesser = client(f"2001:db8:7:{subnet}::1")
            assert (await sign_in(fe, WRONG, guesser)).status_code == 401
        same_48 = await sign_in(fe, RIGHT, client("2001:db8:7:ffff::1"))
        assert same_48.status_code == 429
        assert 1 <= int(same_48.headers["retry-after"]) <= 60
        other_48 = await sign_in(fe, RIGHT, client("2001:db8:8::1"))
        assert other_48.status_code == 200


async def test_wrong_codes_from_all_clients_together_pause_sign_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past the total, a guesser with endless addresses gets no more tries, nor does anyone
    else, until the minute has passed; people signed in stay in."""
    limits = {"access_attempts_per_minute": 3, "access_total_attempts_per_minute": 4}
    async with gated(trusted_proxies="127.0.0.1", **limits) as (_, fe):
        signed_in = await sign_in(fe, RIGHT, client("192.0.2.1"))
        assert signed_in.status_code == 200
        for host in range(4):
            guesser = client(f"198.51.100.{host}")
            assert (await sign_in(fe, WRONG, guesser)).status_code == 401
        with caplog.at_level(logging.WARNING, logger="scenario6.frontend.access"):
            paused = await sign_in(fe, RIGHT, client("203.0.113.9"))
        assert paused.status_code == 429
        assert 1 <= int(paused.headers["retry-after"]) <= 60
        assert "sign-in is paused" in paused.json()["detail"]
        assert "sign-in paused for everyone" in caplog.text
        assert "203.0.113.9" in caplog.text
        config = await get(fe, "/api/config", Cookie=cookie_of(signed_in))
        assert config.status_code == 200
