"""One polling helper for every wait, and the HTTP health probe built on it."""

from __future__ import annotations

import asyncio
import http.client
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence


class HealthTimeout(Exception):
    """A resource that did not become healthy; the message says which, where and how long."""

    def __init__(
        self, resource: str, url: str, elapsed: float, last_lines: Sequence[str], why: str = ""
    ) -> None:
        tail = "\n".join(f"    {line}" for line in last_lines[-15:]) or "    (no output)"
        reason = f" ({why})" if why else ""
        super().__init__(
            f"{resource} did not become healthy at {url} within {elapsed:.0f} s{reason}.\n"
            f"  Its last output:\n{tail}"
        )
        self.resource = resource
        self.url = url


async def poll(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    interval: float = 0.1,
    alive: Callable[[], str | None] | None = None,
) -> tuple[bool, str]:
    """Call ``check`` until it is true or ``timeout`` passes; ``alive`` returns why to give up.

    Returns (succeeded, reason it did not).
    """
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            gone = alive()
            if gone:
                return False, gone
        if await check():
            return True, ""
        if time.monotonic() >= deadline:
            return False, "timed out"
        await asyncio.sleep(interval)


def get_status(url: str) -> int | None:
    context = ssl.create_default_context()
    # Development backends use self-signed certificates; this probe only asks "are you up?".
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError, http.client.HTTPException):
        return None


def http_check(url: str, status: int = 200) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await asyncio.to_thread(get_status, url) == status

    return check
