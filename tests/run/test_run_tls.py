"""``scenario6 run`` with ``MOSHI_USE_SSL=1``: the backend container serves TLS and the native
frontend verifies it with the CA the backend made, copied out of its container."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from pathlib import Path

import pytest

from tests.run.conftest import ALL_UP, CONTAINER_BACKEND, ContainerApp, RunCommand
from tests.run.test_run_loopback import talk_through
from tests.support.servers import HOST

pytestmark = pytest.mark.docker


def test_native_frontend_trusts_the_backend_certificate_it_was_given(
    workspace: Path, run_command: type[RunCommand], container_app: ContainerApp
) -> None:
    app = container_app
    run = run_command(workspace, CONTAINER_BACKEND, {**app.env, "MOSHI_USE_SSL": "1"})
    run.wait_output(ALL_UP, timeout=900)

    ca = workspace / ".scenario6" / "moshi-ca.pem"
    assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    with urllib.request.urlopen(f"http://{HOST}:{app.frontend_port}/api/config") as reply:
        config = json.load(reply)
    assert config["backends"][0]["url"] == f"wss://127.0.0.1:{app.moshi_port}/api/chat"
    # The copied CA is the one that signed what the backend serves.
    trusting = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(
        f"https://127.0.0.1:{app.moshi_port}/health", context=trusting
    ) as reply:
        assert json.load(reply)["backend"] == "loopback"

    asyncio.run(talk_through(app.frontend_port))  # through the proxy, over verified wss
    run.interrupt()
    assert run.wait_exit(60) == 0, run.output()
