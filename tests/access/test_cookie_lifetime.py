"""Sign-in cookies over their life, against real frontend processes: revoked by a sign-out,
held to the max age configured now, signed with a key that can change."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import httpx

from scenario6.bench.harness import HOST, ChildServer, free_port
from scenario6.frontend.access.cookie import CookieSigner
from scenario6.frontend.invitations import parse_invitations
from tests.access.test_gate import COOKIE, cookie_of
from tests.support.servers import frontend_process

CODES = "alice:alice-code-123"
OLD_KEY = "Gm3x9Qf1cVh7Lw2Zr8Ts4Ny6Kp0Bd5Je"
NEW_KEY = "Yt6Hq2Wn8Xc4Ra1Lm9Vz3Pk7Fs5Ug0Db"


@contextlib.contextmanager
def frontend(**env: str) -> Iterator[str]:
    """A gated frontend process (its backend is never reached here); yields its base URL."""
    env = {"ACCESS_CODES": CODES, "MOSHI_WS_URL": f"ws://{HOST}:{free_port()}", **env}
    with frontend_process(env) as (_, port):
        yield f"http://{HOST}:{port}"


def sign_in(base: str) -> str:
    return cookie_of(httpx.post(f"{base}/api/signin", json={"code": "alice-code-123"}))


def config(base: str, cookie: str) -> httpx.Response:
    return httpx.get(f"{base}/api/config", headers={"Cookie": cookie})


def test_a_cookie_copied_before_sign_out_no_longer_signs_in() -> None:
    with frontend() as base:
        laptop, phone = sign_in(base), sign_in(base)
        copy = laptop  # taken from the laptop's profile before its owner signs out
        assert config(base, copy).status_code == 200
        out = httpx.post(f"{base}/api/signout", headers={"Cookie": laptop})
        assert out.status_code == 204
        assert config(base, copy).status_code == 401
        assert config(base, phone).json()["access"]["identity"] == "alice"  # still signed in


def test_lowering_the_max_age_shortens_cookies_already_issued() -> None:
    """Two hours cannot pass in a test: the cookie is made as a frontend with the same key
    made it two hours ago."""
    [alice] = parse_invitations(CODES)
    issued = int(time.time()) - 2 * 3600
    value = CookieSigner((OLD_KEY.encode(),), (alice,)).issue(alice, issued=issued)
    cookie = f"{COOKIE}={value}"
    with frontend(ACCESS_SECRET=OLD_KEY, ACCESS_COOKIE_MAX_AGE_S="10800") as base:
        assert config(base, cookie).status_code == 200
    with frontend(ACCESS_SECRET=OLD_KEY, ACCESS_COOKIE_MAX_AGE_S="3600") as base:
        assert config(base, cookie).status_code == 401


def test_a_short_secret_stops_the_start_and_says_how_to_make_one() -> None:
    env = {"ACCESS_CODES": CODES, "ACCESS_SECRET": "only-23-characters-long"}
    with ChildServer(["frontend", "--host", HOST, "--port", str(free_port())], env=env) as child:
        returncode = child.popen.wait(timeout=60)
        output = child.output()
    assert returncode == 2, output
    assert "ACCESS_SECRET: Value error, shorter than 32 characters" in output
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in output
    assert "only-23-characters-long" not in output


def test_a_new_secret_keeps_people_signed_in_and_reissues_their_cookie() -> None:
    with frontend(ACCESS_SECRET=OLD_KEY) as before:
        cookie = sign_in(before)
    rotated = {"ACCESS_SECRET": NEW_KEY, "ACCESS_PREVIOUS_SECRETS": f"short-old-key,{OLD_KEY}"}
    with frontend(**rotated) as during, frontend(ACCESS_SECRET=NEW_KEY) as after:
        assert config(after, cookie).status_code == 401  # the new key alone: signed out
        page = httpx.get(f"{during}/", headers={"Cookie": cookie})
        assert page.status_code == 200 and 'id="toggle"' in page.text
        attributes = page.headers["set-cookie"].lower()
        assert "httponly" in attributes and "samesite=lax" in attributes
        renewed = cookie_of(page)
        assert renewed != cookie
        assert config(after, renewed).json()["access"]["identity"] == "alice"
        # The same sign-in under a new key: signing out with either revokes both.
        assert httpx.post(f"{during}/api/signout", headers={"Cookie": renewed}).status_code == 204
        assert config(during, cookie).status_code == 401
