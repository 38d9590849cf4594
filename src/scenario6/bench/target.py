"""Where ``scenario6 bench load`` sends its sessions: the URL checked, resolved and signed in to.

A load test is an attack on whatever it points at, so only this machine's loopback addresses
are targets unless the operator says ``--allow-remote``. The host name is resolved first: a
name that leads elsewhere is refused like an address.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit, urlunsplit

from scenario6.frontend.access.cookie import NAME as COOKIE
from scenario6.protocol.messages import CHAT_PATH

_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


class TargetError(ValueError):
    """A target the load test refuses or cannot reach; the message says why."""


@dataclass(frozen=True)
class Target:
    """A frontend (or a backend) to load: its base HTTP URL and its session URL.

    >>> Target.parse("http://127.0.0.1:8010").chat_url("NATF2.pt", "Hi")
    'ws://127.0.0.1:8010/api/chat?voice_prompt=NATF2.pt&text_prompt=Hi&events=1'
    """

    http: str  # scheme://host:port, no path
    ws: str
    host: str
    path: str  # the session endpoint

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        scheme = _SCHEMES.get(parts.scheme)
        if scheme is None or not parts.hostname:
            raise TargetError(f"{url!r} is not an http(s):// or ws(s):// URL with a host")
        http = "https" if scheme == "wss" else "http"
        path = parts.path if parts.path not in ("", "/") else CHAT_PATH
        return cls(
            http=urlunsplit((http, parts.netloc, "", "", "")),
            ws=urlunsplit((scheme, parts.netloc, "", "", "")),
            host=parts.hostname,
            path=path,
        )

    def chat_url(self, voice: str, persona: str) -> str:
        query = urlencode({"voice_prompt": voice, "text_prompt": persona, "events": "1"})
        return f"{self.ws}{self.path}?{query}"

    def refuse_remote(self) -> None:
        """Raise TargetError unless every address the host resolves to is a loopback one."""
        try:
            infos = socket.getaddrinfo(self.host, None, proto=socket.IPPROTO_TCP)
        except OSError as exc:
            raise TargetError(f"cannot resolve {self.host!r}: {exc}") from None
        outside = sorted({str(info[4][0]) for info in infos if not _loopback(str(info[4][0]))})
        if outside:
            raise TargetError(
                f"refusing to load {self.host} ({', '.join(outside)}): not a loopback address "
                "(127.0.0.0/8 or ::1); pass --allow-remote to load a server you run elsewhere"
            )

    def sign_in(self, code: str, timeout: float = 10) -> dict[str, str]:
        """``POST /api/signin`` with the code; the headers that carry its cookie."""
        request = urllib.request.Request(
            f"{self.http}/api/signin",
            data=json.dumps({"code": code}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                cookies = SimpleCookie(reply.headers.get("Set-Cookie", ""))
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("detail", "")
            raise TargetError(f"sign-in refused (HTTP {exc.code}): {detail}") from None
        except OSError as exc:
            raise TargetError(f"sign-in at {self.http} failed: {exc}") from None
        if COOKIE not in cookies:
            raise TargetError(f"{self.http}/api/signin set no {COOKIE} cookie")
        return {"Cookie": f"{COOKIE}={cookies[COOKIE].value}"}


def _loopback(address: str) -> bool:
    return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
