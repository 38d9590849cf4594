"""Invitation codes (or one shared passphrase): who may sign in, and under which name.

The grammar of ACCESS_CODES: the settings check it, the access gate reads it."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

# The variable the codes come in, as published files and the app model name it.
ENV = "ACCESS_CODES"
# Long enough that guessing is hopeless even from many addresses at a few tries a minute
# each: 12 random characters of token_urlsafe carry 72 bits.
MIN_CODE_CHARS = 12
_LABEL = re.compile(r"[A-Za-z0-9._@+-]{1,64}")


@dataclass(frozen=True)
class Invitation:
    """One code; ``label`` names its holder (None: a shared passphrase, nobody in particular).

    >>> Invitation("alice", "k8Jx2pQr-wz7L")
    Invitation(label='alice')
    """

    label: str | None
    code: str = field(repr=False)

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.code.encode()).digest()


def parse_invitations(text: str) -> tuple[Invitation, ...]:
    """``alice:code1,bob:code2`` or a bare ``passphrase``; a passphrase with a colon needs a label.

    >>> parse_invitations("alice:k8Jx2pQr-wz7L, open sesame now")
    (Invitation(label='alice'), Invitation(label=None))
    """
    invitations: list[Invitation] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        label: str | None = None
        head, colon, tail = item.partition(":")
        if colon and _LABEL.fullmatch(head):
            label, item = head, tail.strip()
        if len(item) < MIN_CODE_CHARS:
            who = f"the code for {label!r}" if label else "a code"
            raise ValueError(f"{who} is shorter than {MIN_CODE_CHARS} characters")
        if any(known.code == item for known in invitations):
            # One code, two people: whoever signs in would be told apart by neither.
            raise ValueError(f"a code is given twice (the second time for {label or 'everyone'!r})")
        invitations.append(Invitation(label, item))
    return tuple(invitations)


def find_invitation(invitations: tuple[Invitation, ...], code: str) -> Invitation | None:
    """The invitation ``code`` belongs to. Every code is compared, in constant time each, so
    the time taken says nothing about how close a guess came."""
    # JSON may smuggle in lone surrogates, which strict UTF-8 refuses to encode.
    given = hashlib.sha256(code.encode(errors="surrogatepass")).digest()
    found: Invitation | None = None
    for invitation in invitations:
        if hmac.compare_digest(given, invitation.digest) and found is None:
            found = invitation
    return found
