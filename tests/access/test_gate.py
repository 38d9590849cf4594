"""The access gate over real sockets: a frontend in this event loop, a loopback backend
behind it, plain HTTP and WebSocket clients."""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from scenario6.backend.certs import ensure_certificate, subject_names
from scenario6.frontend.settings import FrontendSettings
from tests.hostile.frontends import launched
from tests.support.client import conversation
from tests.support.servers import RunningFrontend, RunningLoopback, frontend_server, loopback_server

CODES = "alice:alice-code-123,bob:bob-code-4567"
COOKIE = "scenario6_access"


@asynccontextmanager
async def gated(**settings: object) -> AsyncIterator[tuple[RunningLoopback, RunningFrontend]]:
    async with (
        loopback_server() as lb,
        frontend_server(moshi_ws_url=lb.url, **{"access_codes": CODES, **settings}) as fe,
    ):
        yield lb, fe


async def sign_in(
    fe: RunningFrontend, code: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{fe.http}/api/signin", json={"code": code}, headers=headers)


def cookie_of(response: httpx.Response) -> str:
    header = response.headers["set-cookie"]
    match = re.match(rf"{COOKIE}=([^;]+)", header)
    assert match, header
    return f"{COOKIE}={match.group(1)}"


async def get(fe: RunningFrontend, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(f"{fe.http}{path}", headers=headers)


async def test_without_a_sign_in_only_health_and_the_sign_in_page_answer() -> None:
    async with gated() as (lb, fe):
        assert (await get(fe, "/health")).json()["status"] == "ok"
        config = await get(fe, "/api/config")
        assert config.status_code == 401
        assert config.json()["detail"] == {"message": "not signed in", "signin": "/signin"}
        page = await get(fe, "/")
        assert (page.status_code, page.headers["location"]) == (303, "/signin")
        signin = await get(fe, "/signin")
        assert signin.status_code == 200 and 'id="signin-form"' in signin.text
        async with conversation(fe.chat_url(events="1")) as talk:
            await talk.wait_for(talk.closed.is_set)
        assert talk.close_code == 4401
        assert talk.close_reason == "not signed in: reload the page to sign in"
        assert talk.events_of("error")[0]["code"] == 4401
        assert list(lb.backend.sessions) == []  # nothing reached a backend


async def test_a_code_buys_a_signed_http_only_cookie_for_the_page_config_and_sessions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with gated(access_cookie_max_age_s=3600) as (lb, fe):
        wrong = await sign_in(fe, "alice-code-124")
        assert wrong.status_code == 401
        assert wrong.json()["detail"] == "that code is not valid: check it and try again"
        assert "set-cookie" not in wrong.headers
        right = await sign_in(fe, "  alice-code-123 ")
        assert right.status_code == 200 and right.json() == {"identity": "alice"}
        attributes = right.headers["set-cookie"].lower()
        for attribute in ("httponly", "samesite=lax", "max-age=3600", "path=/"):
            assert attribute in attributes
        assert "secure" not in attributes  # plain http: a Secure cookie would not come back
        assert "alice-code-123" not in right.headers["set-cookie"]
        cookie = cookie_of(right)

        config = await get(fe, "/api/config", cookie=cookie)
        assert config.json()["access"] == {"gate": True, "identity": "alice", "signout": True}
        page = await get(fe, "/", cookie=cookie)
        assert page.status_code == 200 and 'id="toggle"' in page.text
        async with conversation(fe.chat_url(), additional_headers={"Cookie": cookie}) as talk:
            await talk.wait_for(talk.handshake.is_set)
        assert len(list(lb.backend.sessions)) == 1

        # A cookie edited to name someone else is no cookie at all.
        name, _, value = cookie.partition("=")
        forged = f"{name}={value.replace('v2.YWxpY2U', 'v2.Ym9i')}"
        assert (await get(fe, "/api/config", cookie=forged)).status_code == 401
    assert "alice-code-12" not in caplog.text


def is_secure(response: httpx.Response) -> bool:
    return "secure" in response.headers["set-cookie"].lower().split("; ")


async def test_the_cookie_is_secure_behind_a_trusted_https_proxy() -> None:
    async with gated(trusted_proxies="127.0.0.1") as (_, fe):
        assert is_secure(await sign_in(fe, "bob-code-4567", {"X-Forwarded-Proto": "https"}))
    async with gated() as (_, fe):  # the same header from anyone else is not believed
        assert not is_secure(await sign_in(fe, "bob-code-4567", {"X-Forwarded-Proto": "https"}))


async def test_the_cookie_is_secure_when_the_frontend_itself_serves_https(tmp_path: Path) -> None:
    files, _ = ensure_certificate(tmp_path, subject_names("localhost"))
    async with loopback_server() as lb:
        with launched("scenario6 frontend", lb.url, files, {"ACCESS_CODES": CODES}) as fe:
            async with httpx.AsyncClient(
                verify=ssl.create_default_context(cafile=files.ca)
            ) as http:
                url = f"https://localhost:{fe.port}/api/signin"
                response = await http.post(url, json={"code": "bob-code-4567"})
    assert response.status_code == 200 and is_secure(response)


async def test_the_cookie_reads_the_scheme_from_the_header_family_the_proxies_use() -> None:
    """FORWARDED_HEADER=forwarded: the scheme is RFC 7239's proto= of the element that names
    the client; X-Forwarded-Proto, a header those proxies do not set, is not believed."""
    client = "for=198.51.100.7;proto=https"
    async with gated(trusted_proxies="127.0.0.1", forwarded_header="forwarded") as (_, fe):
        assert is_secure(await sign_in(fe, "bob-code-4567", {"Forwarded": client}))
        # Two proxies: the outer one took https from the client, the inner one http from it.
        chained = f"{client}, for=127.0.0.1;proto=http"
        assert is_secure(await sign_in(fe, "bob-code-4567", {"Forwarded": chained}))
        plain = {"Forwarded": "for=198.51.100.7;proto=http", "X-Forwarded-Proto": "https"}
        assert not is_secure(await sign_in(fe, "bob-code-4567", plain))
    async with gated(forwarded_header="forwarded") as (_, fe):  # not from a trusted proxy
        assert not is_secure(await sign_in(fe, "bob-code-4567", {"Forwarded": client}))


async def test_wrong_codes_are_rate_limited_per_client_address() -> None:
    async with gated(trusted_proxies="127.0.0.1", access_attempts_per_minute=3) as (_, fe):
        guesser = {"X-Forwarded-For": "198.51.100.7"}
        for _ in range(3):
            assert (await sign_in(fe, "guess-guess", guesser)).status_code == 401
        limited = await sign_in(fe, "alice-code-123", guesser)  # even the right code now
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "too many wrong codes" in limited.json()["detail"]
        other = await sign_in(fe, "alice-code-123", {"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 200


async def test_an_ipv6_guesser_is_limited_by_its_64_not_its_address() -> None:
    """One subscriber holds a whole /64: a new address in it is no new allowance."""
    async with gated(trusted_proxies="127.0.0.1", access_attempts_per_minute=3) as (_, fe):
        for host in ("1", "2", "3"):
            guesser = {"X-Forwarded-For": f"2001:db8:0:7::{host}"}
            assert (await sign_in(fe, "guess-guess", guesser)).status_code == 401
        same = await sign_in(fe, "alice-code-123", {"X-Forwarded-For": "2001:db8:0:7::ff"})
        assert same.status_code == 429
        other = await sign_in(fe, "alice-code-123", {"X-Forwarded-For": "2001:db8:0:8::1"})
        assert other.status_code == 200


async def test_sign_out_clears_the_cookie() -> None:
    async with gated() as (_, fe), httpx.AsyncClient() as http:
        out = await http.post(f"{fe.http}/api/signout")
        assert out.status_code == 204
        cleared = out.headers["set-cookie"].lower()
        assert cleared.startswith(f'{COOKIE}=""') and "max-age=0" in cleared


async def test_a_code_taken_off_the_list_signs_its_holder_out() -> None:
    secret = "a signing key that outlives the code list"
    async with gated(access_secret=secret) as (_, fe):
        cookie = cookie_of(await sign_in(fe, "bob-code-4567"))
        assert (await get(fe, "/api/config", cookie=cookie)).status_code == 200
    async with gated(access_secret=secret, access_codes="alice:alice-code-123") as (_, fe):
        assert (await get(fe, "/api/config", cookie=cookie)).status_code == 401


async def test_an_identity_header_counts_only_from_a_trusted_proxy() -> None:
    header = {"X-Forwarded-User": "carol@example.org"}
    async with gated(access_identity_header="X-Forwarded-User", trusted_proxies="127.0.0.1") as (
        _,
        fe,
    ):
        config = await get(fe, "/api/config", **header)
        assert config.json()["access"] == {
            "gate": True,
            "identity": "carol@example.org",
            "signout": False,
        }
        async with conversation(fe.chat_url(), additional_headers=header) as talk:
            await talk.wait_for(talk.handshake.is_set)
    async with gated(access_identity_header="X-Forwarded-User") as (_, fe):
        assert (await get(fe, "/api/config", **header)).status_code == 401
        async with conversation(fe.chat_url(), additional_headers=header) as talk:
            await talk.wait_for(talk.closed.is_set)
        assert talk.close_code == 4401


async def test_a_repeated_identity_header_identifies_nobody() -> None:
    """A proxy that appends would pass on the client's own value in front of its own."""
    async with (
        gated(access_identity_header="X-Forwarded-User", trusted_proxies="127.0.0.1") as (_, fe),
        httpx.AsyncClient() as http,
    ):
        twice = [("X-Forwarded-User", "mallory"), ("X-Forwarded-User", "carol@example.org")]
        assert (await http.get(f"{fe.http}/api/config", headers=twice)).status_code == 401


async def test_session_limits_count_people_not_their_shared_address() -> None:
    """Everyone here comes from 127.0.0.1: the limit of one session holds per person."""
    async with gated(max_sessions_per_client=1) as (_, fe):
        alice = {"Cookie": cookie_of(await sign_in(fe, "alice-code-123"))}
        bob = {"Cookie": cookie_of(await sign_in(fe, "bob-code-4567"))}
        async with conversation(fe.chat_url(), additional_headers=alice) as first:
            await first.wait_for(first.handshake.is_set)
            async with conversation(fe.chat_url(), additional_headers=alice) as again:
                await again.wait_for(again.closed.is_set)
            assert again.close_code == 4429
            async with conversation(fe.chat_url(events="1"), additional_headers=bob) as other:
                await other.wait_for(lambda: other.events_of("queued") or other.closed.is_set())
            assert other.events_of("queued") and other.close_code != 4429


def test_codes_too_short_to_resist_guessing_stop_the_start_without_showing_them() -> None:
    for code in ("abc123", "abcdef-1234"):
        with pytest.raises(ValidationError) as raised:
            FrontendSettings(access_codes=f"alice:{code}")  # type: ignore[call-arg]
        assert "the code for 'alice' is shorter than 12 characters" in str(raised.value)
        assert code not in str(raised.value)
    with pytest.raises(ValidationError) as raised:
        FrontendSettings(access_codes="open-sesam")  # type: ignore[call-arg]
    assert "a code is shorter than 12 characters" in str(raised.value)


def test_a_code_given_twice_stops_the_start() -> None:
    """Two people with one code could not be told apart: a cookie made for one would never
    match."""
    for codes in ("alice:same-code-1234,bob:same-code-1234", "alice:same-code-1234,same-code-1234"):
        with pytest.raises(ValidationError) as raised:
            FrontendSettings(access_codes=codes)  # type: ignore[call-arg]
        assert "a code is given twice" in str(raised.value)
        assert "same-code-1234" not in str(raised.value)


async def test_sign_in_refuses_other_sites_and_anything_but_a_small_code() -> None:
    async with gated() as (_, fe), httpx.AsyncClient() as http:
        foreign = await sign_in(fe, "alice-code-123", {"Origin": "https://evil.example"})
        assert foreign.status_code == 403 and "set-cookie" not in foreign.headers
        signout = await http.post(
            f"{fe.http}/api/signout", headers={"Origin": "https://evil.example"}
        )
        assert signout.status_code == 403
        huge = await http.post(f"{fe.http}/api/signin", content=b"code=" + b"x" * 10_000)
        assert huge.status_code == 400
        form = await http.post(f"{fe.http}/api/signin", data={"code": "alice-code-123"})
        assert form.status_code == 200 and form.json() == {"identity": "alice"}


async def test_hostile_cookies_and_codes_are_refused_not_crashed_on() -> None:
    async with gated() as (_, fe), httpx.AsyncClient() as http:
        for value in ("v1.x.1.2.\u00e9\u00e9", "....", "v1", "v1.YWxpY2U.9999999999.00.00"):
            cookie = f"{COOKIE}={value}".encode("latin-1")
            reply = await http.get(f"{fe.http}/api/config", headers={"Cookie": cookie})
            assert reply.status_code == 401, value
        lone = await http.post(
            f"{fe.http}/api/signin",
            content=b'{"code": "\\ud800alice"}',
            headers={"Content-Type": "application/json"},
        )
        assert lone.status_code == 401
        nested = await http.post(
            f"{fe.http}/api/signin",
            content=b"[" * 4000,  # under the body cap, past the JSON parser's recursion limit
            headers={"Content-Type": "application/json"},
        )
        assert nested.status_code == 400


def test_an_identity_header_must_be_a_header_name() -> None:
    with pytest.raises(ValidationError, match="must be a header name"):
        FrontendSettings(access_identity_header="X-User: admin")  # type: ignore[call-arg]
