"""Backend URLs as users write them (``MOSHI_WS_URL``, ``run --backend URL``), normalised
to the WebSocket URLs the proxy opens."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from scenario6.protocol.messages import CHAT_PATH

_SCHEMES = {"ws": "ws", "http": "ws", "wss": "wss", "https": "wss"}


@dataclass(frozen=True)
class BackendUrl:
    """One backend entry: ``http://gpu:8998`` becomes ``ws://gpu:8998/api/chat``.

    >>> BackendUrl.parse("https://gpu-box").url
    'wss://gpu-box:443/api/chat'
    """

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, raw: str) -> BackendUrl:
        text = raw.strip()
        if "://" not in text:
            raise ValueError(f"backend URL {raw!r} needs a scheme (ws, wss, http or https)")
        parts = urlsplit(text)
        scheme = _SCHEMES.get(parts.scheme.lower())
        if scheme is None:
            raise ValueError(
                f"backend URL {raw!r} has scheme {parts.scheme!r}; use ws, wss, http or https"
            )
        if parts.username or parts.password:
            raise ValueError(f"backend URL {raw!r} must not carry credentials")
        if not parts.hostname:
            raise ValueError(f"backend URL {raw!r} has no host")
        if parts.query or parts.fragment:
            raise ValueError(f"backend URL {raw!r} must not have a query or fragment")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"backend URL {raw!r} has an invalid port") from exc
        if port == 0:  # urlsplit accepts it; nothing can listen there
            raise ValueError(f"backend URL {raw!r} has an invalid port")
        if port is None:
            port = 443 if scheme == "wss" else 80
        path = parts.path.rstrip("/") or CHAT_PATH
        return cls(scheme, parts.hostname.lower(), port, path)

    @property
    def secure(self) -> bool:
        return self.scheme == "wss"

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return urlunsplit((self.scheme, self.netloc, self.path, "", ""))

    def describe(self) -> dict[str, object]:
        return {
            "url": self.url,
            "scheme": self.scheme,
            "host": self.host,
            "port": self.port,
            "path": self.path,
        }


def parse_backend_urls(value: str) -> tuple[BackendUrl, ...]:
    urls = tuple(BackendUrl.parse(item) for item in value.split(",") if item.strip())
    if not urls:
        raise ValueError("MOSHI_WS_URL lists no backend")
    return urls
