"""Real reverse proxies (nginx, Caddy) in front of a frontend, configured as docs/security.md
shows: each block is read from the docs, and only its ports and certificate paths change, so
the worked examples cannot drift from what the tests prove."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from scenario6.backend.certs import ensure_certificate
from scenario6.bench.harness import HOST, free_port
from scenario6.publish import balancer
from tests.conftest import require_tool
from tests.support.client import Conversation, conversation
from tests.support.docker import REPO

NAME = "chat.example.com"  # the public name the documented configurations serve
DOCUMENTED_UPSTREAM = "127.0.0.1:8010"
PROXIES = ("nginx", "caddy")


@dataclass(frozen=True)
class RunningProxy:
    """A proxy serving ``https://NAME:port`` on 127.0.0.1, its certificate signed by ``ca``."""

    kind: str
    port: int
    ca: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def documented_block(language: str) -> str:
    """The first ```language block of docs/security.md."""
    text = (REPO / "docs" / "security.md").read_text()
    found = re.search(rf"```{language}\n(.*?)```", text, re.S)
    assert found, f"docs/security.md has no {language} example"
    return found.group(1)


@contextlib.contextmanager
def reverse_proxy(kind: str, folder: Path, frontend_port: int) -> Iterator[RunningProxy]:
    """``kind`` (one of PROXIES) with its documented configuration, forwarding to the frontend."""
    folder.mkdir(parents=True, exist_ok=True)
    files, _ = ensure_certificate(folder / "certs", [NAME])
    port = free_port()
    upstream = f"{HOST}:{frontend_port}"
    if kind == "nginx":
        argv = _nginx(folder, _documented_nginx(port, files.cert, files.key, upstream))
    else:
        argv = _caddy(folder, port, files.cert, files.key, upstream)
    proxy = RunningProxy(kind, port, files.ca, folder / "error.log")
    with _running(argv, proxy.kind, port, proxy.log, home=folder):
        yield proxy


@contextlib.contextmanager
def load_balancer(folder: Path, frontend_ports: list[int]) -> Iterator[int]:
    """nginx configured as ``scenario6 publish --frontends N`` configures it (plain HTTP),
    spreading requests over the frontends on these ports; yields its port."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    upstreams = [f"{HOST}:{p}" for p in frontend_ports]
    block = balancer.nginx_conf(upstreams, port, None)
    block = block.replace(f"listen {port};", f"listen {HOST}:{port};")
    with _running(_nginx(folder, block), "nginx", port, folder / "error.log", home=folder):
        yield port


@contextlib.contextmanager
def _running(argv: list[str], kind: str, port: int, log: Path, home: Path) -> Iterator[None]:
    with log.open("wb") as sink:
        # A home of its own: Caddy keeps state under $HOME and must not touch the machine's.
        env = {"HOME": str(home), "PATH": "/usr/sbin:/usr/bin:/bin"}
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_listening(process, kind, port, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def session_via(
    proxy: RunningProxy, source: str, host: str = NAME, **headers: str
) -> AsyncIterator[Conversation]:
    """A browser-like session to ``https://host:port`` through the proxy, from address
    ``source``, with these headers (``_`` for ``-`` in their names)."""
    origin = f"https://{host}:{proxy.port}"
    async with conversation(
        f"wss://{host}:{proxy.port}/api/chat?voice_prompt=NATF2.pt&events=1",
        host=HOST,
        port=proxy.port,
        ssl=ssl.create_default_context(cafile=str(proxy.ca)),
        server_hostname=NAME,
        local_addr=(source, 0),
        origin=origin,
        proxy=None,
        additional_headers={k.replace("_", "-"): v for k, v in headers.items()},
    ) as talk:
        yield talk


def _documented_nginx(port: int, cert: Path, key: Path, upstream: str) -> str:
    block = (
        documented_block("nginx")
        .replace("listen 443 ssl;", f"listen {HOST}:{port} ssl;")
        .replace(f"/etc/ssl/{NAME}/fullchain.pem", str(cert))
        .replace(f"/etc/ssl/{NAME}/privkey.pem", str(key))
        .replace(f"http://{DOCUMENTED_UPSTREAM}", f"http://{upstream}")
    )
    assert str(port) in block and upstream in block and str(key) in block, block
    return block


def _nginx(folder: Path, block: str) -> list[str]:
    """nginx in the foreground with ``block`` (what goes in ``http``), its files in ``folder``."""
    binary = require_tool("nginx", "/usr/sbin/nginx")
    temp = " ".join(
        f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    config = folder / "nginx.conf"
    config.write_text(
        f"daemon off;\nmaster_process off;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log info;\nevents {{}}\n"
        f"http {{\naccess_log {folder}/access.log;\n{temp}\n{block}\n}}\n"
    )
    return [binary, "-e", str(folder / "error.log"), "-p", str(folder), "-c", str(config)]


def _caddy(folder: Path, port: int, cert: Path, key: Path, upstream: str) -> list[str]:
    binary = require_tool("caddy", "/usr/bin/caddy")
    # The documented site serves its name on 443 with a certificate from a public CA; here
    # it serves the test's certificate on a free port, without an admin endpoint, a redirect
    # server on port 80 or any certificate authority to reach.
    site = (
        documented_block("caddy")
        .replace(
            f"{NAME} {{", f"https://{NAME}:{port} {{\n    bind {HOST}\n    tls {cert} {key}", 1
        )
        .replace(f"reverse_proxy {DOCUMENTED_UPSTREAM}", f"reverse_proxy {upstream}")
    )
    assert str(port) in site and upstream in site, site
    config = folder / "Caddyfile"
    config.write_text(
        "{\n    admin off\n    auto_https disable_redirects\n"
        f"    storage file_system {folder}/caddy\n    servers {{\n        protocols h1 h2\n"
        f"    }}\n}}\n{site}"
    )
    return [binary, "run", "--adapter", "caddyfile", "--config", str(config)]


def _wait_listening(process: subprocess.Popen[bytes], kind: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1):
            return
        assert time.monotonic() < deadline, f"{kind} did not listen within 20 s"
        time.sleep(0.05)
