"""Request sizes every server of the app accepts: the frontend, the loopback and PersonaPlex.

A session's persona travels in the upgrade's request line, percent-encoded: the longest the
docs allow, 1000 characters of 4 bytes each in UTF-8, is 12,000 bytes there, plus the other
parameters. aiohttp (PersonaPlex's server and the loopback's) refuses lines over 8190 bytes
by default, so the backends are started with these limits too (byte counts without CRLF).
"""

from __future__ import annotations

MAX_REQUEST_LINE_BYTES = 16 * 1024
MAX_HEADER_FIELD_BYTES = 16 * 1024  # one "name: value" line; generous for cookies
