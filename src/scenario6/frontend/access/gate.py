"""The access gate: who a connection is, and whether it may use the app at all."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import HTTPConnection

from ..invitations import Invitation, find_invitation, parse_invitations
from ..settings import FrontendSettings
from ..trust import client_address, is_trusted_proxy, peer_address
from . import cookie
from .attempts import Attempts, FailedAttempts, Unavailable
from .cookie import CookieSigner, Pass
from .revocations import MemoryRevocations, Revocations

# An identity from a proxy is a name for logs and limits, not a document.
_MAX_IDENTITY_CHARS = 128


@dataclass(frozen=True)
class Visitor:
    """Someone let in: ``identity`` names them when known (an invitation's label, the proxy's
    user); ``via`` says how they got in."""

    identity: str | None
    via: Literal["open", "code", "proxy"]

    def limit_key(self, connection: HTTPConnection) -> str:
        """What the per-client session limit counts: the person, else their address."""
        if self.identity is not None:
            return f"{self.via}:{self.identity}"
        return client_address(connection)


OPEN = Visitor(None, "open")


@dataclass(frozen=True)
class SignIn:
    """The outcome of a code: a cookie to set, or why not (``retry_after``: rate-limited;
    ``everyone``: by the wrong codes of all clients together, not this one's own;
    ``unavailable``: wrong codes cannot be counted now, so no code is checked)."""

    visitor: Visitor | None
    cookie: str | None = None
    retry_after: int = 0
    everyone: bool = False
    unavailable: str | None = None


@dataclass(frozen=True)
class Renewal:
    """A cookie issued again, and the seconds it has left."""

    cookie: str
    max_age: int


class Gate:
    """Off unless ACCESS_CODES or ACCESS_IDENTITY_HEADER is set; then every page, the
    configuration and sessions need a sign-in cookie or a trusted proxy's identity header.

    >>> Gate(FrontendSettings()).enabled
    False
    """

    def __init__(
        self,
        settings: FrontendSettings,
        clock: Callable[[], float] = time.time,
        revocations: Revocations | None = None,
        attempts: Attempts | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        codes = settings.access_codes.get_secret_value() if settings.access_codes else ""
        self._invitations: tuple[Invitation, ...] = parse_invitations(codes)
        secret = settings.access_secret.get_secret_value() if settings.access_secret else ""
        key = secret.encode() if secret else cookie.derive_key(self._invitations)
        previous = tuple(s.get_secret_value().encode() for s in settings.access_previous_secrets)
        self._signer = CookieSigner((key, *previous), self._invitations)
        self._revocations = revocations or MemoryRevocations()
        self._attempts = attempts or FailedAttempts(
            settings.access_attempts_per_minute,
            per_network=settings.access_network_attempts_per_minute,
            total=settings.access_total_attempts_per_minute,
        )
        self._header = settings.access_identity_header.strip()
        self.enabled = bool(self._invitations or self._header)

    @property
    def codes(self) -> bool:
        """Whether sign-in with a code is possible."""
        return bool(self._invitations)

    def visitor(self, connection: HTTPConnection) -> Visitor | None:
        """Who ``connection`` is; None: not let in."""
        if not self.enabled:
            return OPEN
        if self._header and is_trusted_proxy(peer_address(connection), self._settings):
            # Two values: one may be the client's own, passed on by a proxy that appends.
            values = connection.headers.getlist(self._header)
            user = values[0].strip() if len(values) == 1 else ""
            if user and user.isprintable():
                return Visitor(user[:_MAX_IDENTITY_CHARS], "proxy")
        signed_in = self._pass(connection)
        if signed_in is not None:
            return Visitor(signed_in.label, "code")
        return None

    def renewal(self, connection: HTTPConnection) -> Renewal | None:
        """The cookie to set in place of one signed with a previous ACCESS_SECRET: the same
        sign-in (id, issue time) under today's key; None: nothing to renew."""
        signed_in = self._pass(connection)
        if signed_in is None or signed_in.current:
            return None
        value = self._signer.issue(signed_in.invitation, signed_in.issued, signed_in.id)
        return Renewal(value, max(1, int(signed_in.expires - self._clock())))

    def sign_out(self, connection: HTTPConnection) -> None:
        """Revoke the connection's cookie, so that a copy of it no longer signs anyone in."""
        signed_in = self._pass(connection)
        if signed_in is not None:
            self._revocations.revoke(
                signed_in.id, signed_in.issued, signed_in.expires, self._clock()
            )

    def _pass(self, connection: HTTPConnection) -> Pass | None:
        value = connection.cookies.get(cookie.NAME)
        if not value or not self._invitations:
            return None
        now = self._clock()
        checked = self._signer.check(value, now, self._settings.access_cookie_max_age_s)
        if checked is None or self._revocations.revoked(checked.id, checked.issued, now):
            return None
        return checked

    async def sign_in(self, code: str, address: str) -> SignIn:
        """Exchange ``code`` for a cookie; wrong codes count against ``address``, its network
        and everyone. Once a limit is reached the right code is refused too, or it could
        still be guessed."""
        try:
            verdict = await self._attempts.reserve(address)
        except Unavailable as exc:
            return SignIn(None, unavailable=str(exc))
        if verdict.ticket is None:
            return SignIn(None, retry_after=verdict.retry_after, everyone=verdict.everyone)
        invitation = find_invitation(self._invitations, code.strip())
        if invitation is None:
            return SignIn(None)
        await self._attempts.take_back(address, verdict.ticket)
        value = self._signer.issue(invitation, issued=int(self._clock()))
        return SignIn(Visitor(invitation.label, "code"), cookie=value)
