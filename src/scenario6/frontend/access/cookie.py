"""The sign-in cookie: who signed in, with which code, when, and under which id; signed with
HMAC-SHA256.

A cookie carries its issue time, not its expiry: how long a sign-in lasts is read from the
settings when the cookie comes back, so lowering ACCESS_COOKIE_MAX_AGE_S shortens the cookies
already out there. Its id lets a sign-out revoke that one cookie (see revocations.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from ..invitations import Invitation

NAME = "scenario6_access"
_VERSION = "v2"
# How far ahead of this server's clock an issue time may lie: replicas' clocks differ a little.
_CLOCK_SKEW_S = 60


@dataclass(frozen=True)
class Pass:
    """What a valid cookie says. ``current``: signed with today's key (False: with a previous
    one, so it should be issued again)."""

    invitation: Invitation
    id: str
    issued: int
    expires: int
    current: bool = True

    @property
    def label(self) -> str | None:
        return self.invitation.label


class CookieSigner:
    """Issues cookies with the first of ``keys`` and accepts those signed with any of them, so
    that a new key can take over without signing everyone out. A cookie names its code by a
    keyed fingerprint, so removing a code from the list signs its holder out and the cookie
    never reveals the code.

    >>> alice = Invitation("alice", "k8Jx2pQr")
    >>> value = CookieSigner((b"old",), (alice,)).issue(alice, issued=1000)
    >>> CookieSigner((b"old",), (alice,)).check(value, now=1500, max_age=600).label
    'alice'
    >>> CookieSigner((b"old",), (alice,)).check(value, now=1500, max_age=300) is None
    True
    >>> CookieSigner((b"new", b"old"), (alice,)).check(value, now=1500, max_age=600).current
    False
    """

    def __init__(self, keys: tuple[bytes, ...], invitations: tuple[Invitation, ...]) -> None:
        self._keys = keys
        # Per key: a fingerprint names a code only under the key it was made with.
        self._known = [{_fingerprint(key, i): i for i in invitations} for key in keys]

    def issue(self, invitation: Invitation, issued: int, cookie_id: str | None = None) -> str:
        """A cookie for ``invitation`` issued at ``issued``; a new id unless one is given (a
        cookie issued again under a new key keeps its id, so a sign-out still revokes it)."""
        cookie_id = cookie_id or secrets.token_urlsafe(12)
        label = base64.urlsafe_b64encode((invitation.label or "").encode()).decode().rstrip("=")
        key = self._keys[0]
        payload = f"{_VERSION}.{label}.{issued}.{cookie_id}.{_fingerprint(key, invitation)}"
        return f"{payload}.{_sign(key, payload)}"

    def check(self, value: str, now: float, max_age: int) -> Pass | None:
        """What ``value`` says, if a key here signed it and it is younger than ``max_age``."""
        payload, _, signature = value.rpartition(".")
        # As bytes: a header may carry any character, and str comparison takes ASCII only.
        given = signature.encode(errors="replace")
        for index, key in enumerate(self._keys):
            if hmac.compare_digest(given, _sign(key, payload).encode()):
                return self._read(payload, self._known[index], now, max_age, index == 0)
        return None

    def _read(
        self, payload: str, known: dict[str, Invitation], now: float, max_age: int, current: bool
    ) -> Pass | None:
        try:
            version, label, issued_text, cookie_id, fingerprint = payload.split(".")
            name = base64.urlsafe_b64decode(label + "=" * (-len(label) % 4)).decode()
            issued = int(issued_text)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        invitation = known.get(fingerprint)
        if version != _VERSION or invitation is None or (invitation.label or "") != name:
            return None
        expires = issued + max_age
        if not issued - _CLOCK_SKEW_S <= now < expires or not cookie_id:
            return None
        return Pass(invitation, cookie_id, issued, expires, current)


def _fingerprint(key: bytes, invitation: Invitation) -> str:
    message = b"code\0" + invitation.code.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def _sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(errors="replace"), hashlib.sha256).hexdigest()


def derive_key(invitations: tuple[Invitation, ...]) -> bytes:
    """A signing key from the codes themselves, for deployments that set no ACCESS_SECRET."""
    material = b"\0".join(sorted(i.code.encode() for i in invitations))
    return hmac.new(b"scenario6 access cookie", material, hashlib.sha256).digest()
