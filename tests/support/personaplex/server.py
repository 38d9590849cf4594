"""The real PersonaPlex server as a child process on a free loopback port."""

from __future__ import annotations

import contextlib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from scenario6.bench.harness import HOST, ChildServer, free_port

from .tiny import UPSTREAM, TinyPersonaPlex

# Loading and warming up take 3-4 s here; this only catches a server that never opens.
START_TIMEOUT_S = 120


class PersonaPlexProcess(ChildServer):
    """``moshi.server`` under the tiny model's interpreter; stopped like any ``ChildServer``."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], port: int, scheme: str) -> None:
        super().__init__(argv, env, command=())
        self.port = port
        self.scheme = scheme

    @property
    def url(self) -> str:
        """The chat endpoint, without a query."""
        return f"{'wss' if self.scheme == 'https' else 'ws'}://{HOST}:{self.port}/api/chat"

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until any HTTP answer on ``/``: there is no health route, and the port opens only
        once the model is loaded and warmed up."""
        url = f"{self.scheme}://{HOST}:{self.port}/"
        context = None
        if self.scheme == "https":
            # Readiness only: whether the certificate is trusted is the caller's test.
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"PersonaPlex exited with {self.popen.returncode} before answering {url}:\n"
                    + self.output()[-3000:]
                )
            try:
                with urllib.request.urlopen(url, timeout=1, context=context):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(
            f"PersonaPlex did not answer {url} in {timeout:g}s:\n" + self.output()[-3000:]
        )


@contextlib.contextmanager
def personaplex_server(
    tiny: TinyPersonaPlex,
    layout: str = "flat",
    ssl_dir: Path | None = None,
    arguments: Sequence[str] = (),
    module: str = UPSTREAM,
) -> Iterator[PersonaPlexProcess]:
    """The real server with the tiny model on a free port of 127.0.0.1, stopped on exit.

    ``ssl_dir`` holds ``key.pem`` and ``cert.pem`` for TLS (``--ssl``). Its output is in
    ``.output()`` and in the errors raised when it does not start.
    """
    port = free_port()
    argv = ["--host", HOST, "--port", str(port), "--device", "cpu", *arguments]
    if ssl_dir is not None:
        argv += ["--ssl", str(ssl_dir)]
    process = PersonaPlexProcess(
        tiny.server_command(argv, layout, module),
        tiny.environment(),
        port,
        "https" if ssl_dir is not None else "http",
    )
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()
