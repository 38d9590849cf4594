"""The sign-in cookie: who signed in, with which code, until when; signed with HMAC-SHA256."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from .invitations import Invitation

NAME = "scenario6_access"
_VERSION = "v1"


@dataclass(frozen=True)
class Pass:
    """What a valid cookie says: the invitation's label (None for a passphrase), and until when."""

    label: str | None
    expires: int


class CookieSigner:
    """Issues and checks sign-in cookies. A cookie names its code by a keyed fingerprint, so
    removing a code from the list signs its holder out and the cookie never reveals the code.

    >>> signer = CookieSigner(b"key", (Invitation("alice", "k8Jx2pQr"),))
    >>> value = signer.issue(Invitation("alice", "k8Jx2pQr"), expires=2000)
    >>> signer.check(value, now=1000), signer.check(value, now=3000)
    (Pass(label='alice', expires=2000), None)
    >>> signer.check(value.replace("v1.YWxp", "v1.Ym9i"), now=1000) is None
    True
    """

    def __init__(self, key: bytes, invitations: tuple[Invitation, ...]) -> None:
        self._key = key
        self._known = {self._fingerprint(i): i for i in invitations}

    def issue(self, invitation: Invitation, expires: int) -> str:
        label = base64.urlsafe_b64encode((invitation.label or "").encode()).decode().rstrip("=")
        payload = f"{_VERSION}.{label}.{expires}.{self._fingerprint(invitation)}"
        return f"{payload}.{self._sign(payload)}"

    def check(self, value: str, now: float) -> Pass | None:
        payload, _, signature = value.rpartition(".")
        # As bytes: a header may carry any character, and str comparison takes ASCII only.
        expected = self._sign(payload).encode()
        if not hmac.compare_digest(signature.encode(errors="replace"), expected):
            return None
        try:
            version, label, expires, fingerprint = payload.split(".")
            name = base64.urlsafe_b64decode(label + "=" * (-len(label) % 4)).decode()
            until = int(expires)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        invitation = self._known.get(fingerprint)
        if version != _VERSION or until <= now or invitation is None:
            return None
        if (invitation.label or "") != name:
            return None
        return Pass(invitation.label, until)

    def _fingerprint(self, invitation: Invitation) -> str:
        message = b"code\0" + invitation.code.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:16]

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(errors="replace"), hashlib.sha256).hexdigest()


def derive_key(invitations: tuple[Invitation, ...]) -> bytes:
    """A signing key from the codes themselves, for deployments that set no ACCESS_SECRET."""
    material = b"\0".join(sorted(i.code.encode() for i in invitations))
    return hmac.new(b"scenario6 access cookie", material, hashlib.sha256).digest()
