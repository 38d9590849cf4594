"""Close codes and reasons the proxy sends, so clients can tell failures apart."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# WebSocket close reasons must fit in a control frame: 123 bytes of UTF-8.
_MAX_REASON_BYTES = 123
# Control, format (bidi overrides, zero-width), surrogate, private-use and unassigned code
# points, and line breaks: what could restyle, reorder or hide text where a reason is shown.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def fit_reason(reason: str) -> str:
    r"""A reason safe to show: printable characters only, within a close frame's 123 bytes.

    Every reason passes here, a backend's included, so none can carry terminal escapes or
    bidi tricks to a user's screen or log.

    >>> fit_reason("\x1b[2Jbad\u202egpj.exe\x00 reason\n")
    '[2Jbad gpj.exe reason'
    """
    hidden = "".join(" " if unicodedata.category(c) in _HIDDEN else c for c in reason)
    reason = " ".join(hidden.split())
    encoded = reason.encode()
    if len(encoded) <= _MAX_REASON_BYTES:
        return reason
    return encoded[: _MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


@dataclass(frozen=True)
class Close:
    code: int
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", fit_reason(self.reason))


# Every upper-case integer below is a close code, one code per reason: codes() lists them
# for /api/config (the web client reads them there) and docs/protocol.md documents each.
# 1000 echoes a client's own close. A draining frontend refuses new upgrades (HTTP 503),
# sends 1012 to queued clients (uvicorn sends it too, to every session, when the server
# stops without a drain) and 1001 to the conversations still live when its drain time is over.
NORMAL = 1000
GOING_AWAY = 1001
RESTARTING = 1012
POLICY = 1008
TOO_BIG = 1009
BAD_REQUEST = 4400
NOT_SIGNED_IN = 4401  # the access gate: no valid sign-in cookie or proxy identity
FORBIDDEN_ORIGIN = 4403
IDLE = 4408
AUDIO_TOO_FAST = 4413  # audio further ahead of real time than AUDIO_BURST_S allows
TOO_MANY_SESSIONS = 4429  # from one client (address or signed-in person)
BACKEND_UNREACHABLE = 4502
BACKEND_CLOSED = 4503
HANDSHAKE_TIMEOUT = 4504
SHARED_STATE_UNREACHABLE = 4505  # REDIS_URL is set and Redis does not answer
CLIENT_TOO_SLOW = 4508
QUEUE_TIMEOUT = 4509  # no backend free in time


# The codes that say a backend failed a session it had opened.
BACKEND_FAULTS = frozenset({BACKEND_CLOSED, HANDSHAKE_TIMEOUT})


def codes() -> dict[str, int]:
    """Every close code by its name, as /api/config serves them.

    >>> codes()["BAD_REQUEST"]
    4400
    """
    return {
        name: value
        for name, value in globals().items()
        if name.isupper() and not name.startswith("_") and isinstance(value, int)
    }
