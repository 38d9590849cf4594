"""Request sizes every server of the app accepts: the frontend, the loopback and PersonaPlex.

A session's persona travels in the upgrade's request line, percent-encoded: the longest the
docs allow, 1000 characters of 4 bytes each in UTF-8, is 12,000 bytes there, plus the other
parameters. aiohttp (PersonaPlex's server and the loopback's) refuses lines over 8190 bytes
by default, so the backends are started with these limits too (byte counts without CRLF).
"""

from __future__ import annotations

MAX_REQUEST_LINE_BYTES = 16 * 1024
MAX_HEADER_FIELD_BYTES = 16 * 1024  # one "name: value" line; generous for cookies

# Seconds of a conversation's audio that may wait for the model before the backend ends that
# conversation (close 1008 with BACKLOG_REASON): a client sending faster than real time would
# otherwise queue without limit. The frontend paces clients well within it (AUDIO_BURST_S).
MAX_BACKLOG_S = 10.0
BACKLOG_REASON = "audio backlog over {limit:g} s: send audio in real time"
BACKLOG_CLOSE = 1008  # policy violation (RFC 6455)
