"""The backend image's loopback target, run the way the published app runs it."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request

import pytest

from scenario6.facts.contract import CA_FILE, CERTS_DIR
from tests.support.client import conversation
from tests.support.docker import (
    BuiltImage,
    Container,
    docker_cli,
    image_config,
    run_container,
    volume,
)
from tests.support.servers import free_port

pytestmark = pytest.mark.docker

CHAT = "/api/chat?voice_prompt=NATF2.pt&text_prompt=Be%20brief."


def _health(url: str, context: ssl.SSLContext | None = None) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        body: dict[str, object] = json.loads(response.read())
        return body


def _ca_context(container: Container) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=container.exec("cat", CA_FILE))


async def test_loopback_container_is_healthy_and_speaks_the_protocol(
    loopback_image: BuiltImage,
) -> None:
    port = free_port()
    env = {"MOSHI_HOST": "127.0.0.1", "MOSHI_PORT": str(port)}
    with run_container(loopback_image.tag, env=env, args=["--prompt-ms", "100"]) as container:
        container.wait_healthy(f"http://127.0.0.1:{port}/health")
        assert _health(f"http://127.0.0.1:{port}/health")["backend"] == "loopback"
        async with conversation(f"ws://127.0.0.1:{port}{CHAT}") as talk:
            await talk.wait_for(talk.handshake.is_set)
            assert talk.ws.response is not None
            assert talk.ws.response.headers["X-Scenario6-Backend"] == "loopback"
        assert "LOOPBACK BACKEND" in container.logs()
        # The entrypoint exec'd the server, so Docker's SIGTERM reaches it: no SIGKILL (137).
        seconds, code = container.stop(grace_s=20)
        assert code == 0, container.logs()
        assert seconds < 15


async def test_loopback_over_tls_makes_a_certificate_once_and_keeps_it(
    loopback_image: BuiltImage,
) -> None:
    port = free_port()
    env = {
        "MOSHI_HOST": "127.0.0.1",
        "MOSHI_PORT": str(port),
        "MOSHI_USE_SSL": "1",
        "MOSHI_CERT_NAMES": "voice.example.org",
    }
    with volume() as certs:
        with run_container(loopback_image.tag, env=env, volumes={certs: CERTS_DIR}) as container:
            container.wait_healthy(f"https://127.0.0.1:{port}/health")
            first = container.exec("cat", f"{CERTS_DIR}/cert.pem")
            assert "TLS: created" in container.logs()
            context = _ca_context(container)
            assert _health(f"https://localhost:{port}/health", context)["status"] == "ok"
            async with conversation(f"wss://localhost:{port}{CHAT}", ssl=context) as talk:
                await talk.wait_for(talk.handshake.is_set)
            with pytest.raises(OSError):  # plain HTTP gets no answer from a TLS server
                _health(f"http://127.0.0.1:{port}/health")
        with run_container(loopback_image.tag, env=env, volumes={certs: CERTS_DIR}) as container:
            container.wait_healthy(f"https://127.0.0.1:{port}/health")
            assert "TLS: reusing" in container.logs()
            assert container.exec("cat", f"{CERTS_DIR}/cert.pem") == first


def test_loopback_image_runs_the_entrypoint_as_non_root(loopback_image: BuiltImage) -> None:
    config = image_config(loopback_image.tag)
    assert config["Entrypoint"] == ["python", "-m", "scenario6.backend.entrypoint"]
    assert config["User"] == "app"
    assert "MOSHI_BACKEND=loopback" in config["Env"]  # type: ignore[operator]
    assert "8998/tcp" in config["ExposedPorts"]  # type: ignore[operator]


def test_loopback_image_holds_only_what_the_backend_runs(loopback_image: BuiltImage) -> None:
    """No frontend packages: their updates must not touch the (persistent) backend."""
    modules = ("fastapi", "uvicorn", "pydantic", "starlette", "scenario6.frontend", "sphn")
    probe = f"import importlib.util as u; print(','.join(m for m in {modules} if u.find_spec(m)))"
    found = docker_cli("run", "--rm", "--entrypoint", "python", loopback_image.tag, "-c", probe)
    assert found.strip() == "sphn"


def test_bad_settings_stop_the_container_with_a_reason(loopback_image: BuiltImage) -> None:
    argv = ["docker", "run", "--rm", "--network", "host", "--label", "scenario6.test=1"]
    result = subprocess.run(
        [*argv, "-e", "MOSHI_PORT=http", loopback_image.tag],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "MOSHI_PORT must be a number, not 'http'" in result.stderr
