"""A real ``redis-server`` for a test: the bench's own, after checking the tool is installed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from scenario6.backend.certs import ensure_certificate
from scenario6.bench.harness import HOST
from scenario6.bench.redis_server import PROGRAM, RedisServer, running
from tests.conftest import require_tool

__all__ = ["RedisServer", "redis_server", "tls_redis_server"]


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    with running(RedisServer(require_tool(PROGRAM))) as server:
        yield server


# Another loopback address, which the certificate does not name (Linux answers on all of
# 127/8).
_OTHER_HOST = "127.0.0.2"


class TlsRedisServer(RedisServer):
    """One that speaks only TLS, with a certificate from its own CA for ``HOST``: ``url``
    names that CA (``ssl_ca_certs``), ``untrusted_url`` does not, and ``misnamed_url`` reaches
    the same server, with the CA, at an address the certificate is not for."""

    def __init__(self, program: str, certificates: Path) -> None:
        super().__init__(program)
        self.files, _ = ensure_certificate(certificates, [HOST])
        self.untrusted_url = f"rediss://{HOST}:{self.port}/0"
        self.url = f"{self.untrusted_url}?ssl_ca_certs={self.files.ca}"
        self.misnamed_url = f"rediss://{_OTHER_HOST}:{self.port}/0?ssl_ca_certs={self.files.ca}"

    def arguments(self) -> list[str]:
        return [
            "--bind", HOST, _OTHER_HOST,
            "--port", "0",
            "--tls-port", str(self.port),
            "--tls-cert-file", str(self.files.cert),
            "--tls-key-file", str(self.files.key),
            "--tls-auth-clients", "no",
        ]  # fmt: skip


@contextlib.contextmanager
def tls_redis_server(certificates: Path) -> Iterator[TlsRedisServer]:
    with running(TlsRedisServer(require_tool(PROGRAM), certificates)) as server:
        yield server
