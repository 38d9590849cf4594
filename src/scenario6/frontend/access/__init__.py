"""The access gate: invitation codes exchanged for a signed cookie, or the identity an
authenticating reverse proxy vouches for. Off unless configured (see docs/security.md)."""

from .gate import OPEN, Gate, Renewal, SignIn, Visitor

__all__ = ["OPEN", "Gate", "Renewal", "SignIn", "Visitor"]
