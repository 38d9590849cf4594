"""The frontend behind a real nginx, configured as docs/security.md shows.

The nginx block is taken from the docs (only its certificate paths and ports change), so the
worked example stays true: HTTPS and WebSocket through the proxy, each real client with its
own session limit, a client's own X-Forwarded-For not believed, a foreign Host refused.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from scenario6.backend.certs import ensure_certificate
from scenario6.bench.harness import free_port
from scenario6.frontend.proxy import closes
from tests.conftest import require_tool
from tests.support.client import Conversation, conversation
from tests.support.docker import REPO
from tests.support.servers import frontend_process, loopback_server

NAME = "chat.example.com"


def documented_nginx_block() -> str:
    text = (REPO / "docs" / "security.md").read_text()
    found = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert found, "docs/security.md has no nginx example"
    return found.group(1)


@contextlib.contextmanager
def nginx(folder: Path, frontend_port: int) -> Iterator[tuple[int, Path]]:
    """nginx with the documented block on a free port; (port, CA that signed its certificate)."""
    binary = require_tool("nginx", "/usr/sbin/nginx")
    files, _ = ensure_certificate(folder / "certs", [NAME])
    port = free_port()
    block = (
        documented_nginx_block()
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
        .replace(f"/etc/ssl/{NAME}/fullchain.pem", str(files.cert))
        .replace(f"/etc/ssl/{NAME}/privkey.pem", str(files.key))
        .replace("http://127.0.0.1:8010", f"http://127.0.0.1:{frontend_port}")
    )
    assert str(port) in block and str(frontend_port) in block and str(files.key) in block
    temp = " ".join(
        f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    config = folder / "nginx.conf"
    config.write_text(
        f"daemon off;\nmaster_process off;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log info;\nevents {{}}\n"
        f"http {{\naccess_log {folder}/access.log;\n{temp}\n{block}\n}}\n"
    )
    process = subprocess.Popen(
        [binary, "-e", str(folder / "error.log"), "-p", str(folder), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, (folder / "error.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "nginx did not listen within 20 s"
            time.sleep(0.05)
        yield port, files.ca
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def session_via(
    port: int, ca: Path, source: str, host: str = NAME, **headers: str
) -> AsyncIterator[Conversation]:
    """A browser-like session to ``https://host:port`` through nginx, from address ``source``."""
    context = ssl.create_default_context(cafile=str(ca))
    origin = f"https://{host}:{port}"
    url = f"wss://{host}:{port}/api/chat?voice_prompt=NATF2.pt&events=1"
    async with conversation(
        url,
        host="127.0.0.1",
        port=port,
        ssl=context,
        server_hostname=NAME,
        local_addr=(source, 0),
        origin=origin,
        proxy=None,
        additional_headers={k.replace("_", "-"): v for k, v in headers.items()},
    ) as talk:
        yield talk


async def admitted(talk: Conversation) -> bool:
    await talk.wait_for(
        lambda: talk.handshake.is_set() or talk.events_of("queued") or talk.closed.is_set()
    )
    return not talk.closed.is_set()


async def test_behind_nginx_each_person_has_their_own_session_limit(tmp_path: Path) -> None:
    async with loopback_server() as lb:
        env = {
            "MOSHI_WS_URL": lb.url,
            "SERVER_NAMES": NAME,
            "TRUSTED_PROXIES": "127.0.0.1",
            "MAX_SESSIONS_PER_CLIENT": "1",
        }
        with (
            frontend_process(env) as (frontend, frontend_port),
            nginx(tmp_path, frontend_port) as (
                port,
                ca,
            ),
        ):
            async with (
                session_via(port, ca, "127.0.0.2") as first,
                session_via(port, ca, "127.0.0.3") as other_person,
                # Claiming to be someone else: nginx appends the real address, which counts.
                session_via(port, ca, "127.0.0.2", X_Forwarded_For="127.0.0.4") as spoofer,
            ):
                assert await admitted(first)
                assert await admitted(other_person)  # queued behind the first: one backend
                assert not await admitted(spoofer)
                assert spoofer.close_code == closes.TOO_MANY_SESSIONS
            await first.wait_for(first.closed.is_set)
            # The frontend's log names the people, not the proxy.
            log = frontend.output()
            assert '127.0.0.3:0 - "WebSocket /api/chat' in log, log[-2000:]
            # A name the frontend does not serve is refused, even through the proxy.
            with pytest.raises(InvalidStatus) as refused:
                async with session_via(port, ca, "127.0.0.2", host="evil.example"):
                    pass
            assert refused.value.response.status_code == 400
