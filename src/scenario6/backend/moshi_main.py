"""``python -m scenario6.backend.moshi_main [moshi.server arguments]``: upstream's server, resized.

PersonaPlex's ``moshi.server`` always builds the 7B architecture: it has no option or config file
for the model's size. A model folder made for another size (the tiny random model that lets the
real server run on a CPU) carries an ``architecture.json``; when ``MOSHI_ARCHITECTURE`` names
one, this applies it to the loaders first, then runs the unchanged ``moshi.server`` module as
``__main__`` with the same arguments.

It also raises aiohttp's request limits to the app's (``scenario6.protocol.limits``):
upstream's server keeps aiohttp's 8190-byte request line, which refuses a session whose
persona is long in non-ASCII text (1000 CJK characters are 9,000 bytes percent-encoded).
Otherwise it is exactly ``python -m moshi.server``.
"""

from __future__ import annotations

import functools
import os
import runpy
import sys
from typing import Any

from scenario6.backend import architecture
from scenario6.protocol.limits import MAX_HEADER_FIELD_BYTES, MAX_REQUEST_LINE_BYTES

ENVIRONMENT_VARIABLE = "MOSHI_ARCHITECTURE"


def raise_request_limits() -> None:
    """aiohttp's request handlers default to the app's limits (upstream passes none)."""
    from aiohttp import web_protocol

    original = web_protocol.RequestHandler.__init__

    @functools.wraps(original)
    def init(self: web_protocol.RequestHandler, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_line_size", MAX_REQUEST_LINE_BYTES)
        kwargs.setdefault("max_field_size", MAX_HEADER_FIELD_BYTES)
        original(self, *args, **kwargs)

    web_protocol.RequestHandler.__init__ = init  # type: ignore[method-assign]


def prepare() -> None:
    """What any server of the model needs before it loads: MOSHI_ARCHITECTURE applied to the
    loaders, and the app's request limits in aiohttp."""
    path = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if path:
        try:
            architecture.apply(architecture.load(path))
        except (OSError, architecture.ArchitectureError) as exc:
            sys.exit(f"{ENVIRONMENT_VARIABLE}={path}: {exc}")
    raise_request_limits()


def main() -> None:
    prepare()
    # The server module parses sys.argv and serves when it is imported.
    runpy.run_module("moshi.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
