"""The frontend image: healthy on its port, non-root, no model code, HTTPS when given a pair."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from scenario6.backend.certs import ensure_certificate
from tests.install.lock import locked
from tests.support.docker import BuiltImage, docker_cli, image_config, run_container
from tests.support.servers import free_port

pytestmark = pytest.mark.docker


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10, context=context) as response:
        return response.status, response.headers.get("content-type", ""), response.read()


def test_frontend_container_serves_health_config_and_ui(frontend_image: BuiltImage) -> None:
    port = free_port()
    env = {"APP_HOST": "127.0.0.1", "APP_PORT": str(port)}
    with run_container(frontend_image.tag, env=env) as container:
        container.wait_healthy(f"http://127.0.0.1:{port}/health")
        status, _, body = _get(f"http://127.0.0.1:{port}/health")
        assert json.loads(body)["service"] == "scenario6-frontend"
        status, kind, body = _get(f"http://127.0.0.1:{port}/")
        assert status == 200
        assert kind.startswith("text/html")
        assert b"<html" in body.lower()
        _, _, body = _get(f"http://127.0.0.1:{port}/api/config")
        assert json.loads(body)["voices"]["default"] == "NATF2"
        assert container.exec("id", "-u").strip() != "0"
        seconds, code = container.stop(grace_s=20)
        assert code == 0, container.logs()  # SIGTERM reached uvicorn; no SIGKILL (137)
        assert seconds < 15


def test_frontend_image_runs_as_a_named_non_root_user_on_8010(
    frontend_image: BuiltImage,
) -> None:
    config = image_config(frontend_image.tag)
    assert config["User"] == "app"
    assert "8010/tcp" in config["ExposedPorts"]  # type: ignore[operator]
    assert config["Healthcheck"]
    uid = docker_cli("run", "--rm", "--entrypoint", "id", frontend_image.tag, "-u").strip()
    assert uid != "0"


def test_frontend_image_holds_no_model_or_codec_packages(frontend_image: BuiltImage) -> None:
    modules = ("torch", "sphn", "numpy", "aiohttp", "moshi")
    probe = f"import importlib.util as u; print(','.join(m for m in {modules} if u.find_spec(m)))"
    found = docker_cli("run", "--rm", "--entrypoint", "python", frontend_image.tag, "-c", probe)
    assert found.strip() == ""


def test_frontend_container_serves_https_with_a_mounted_pair(
    frontend_image: BuiltImage, tmp_path: Path
) -> None:
    files, _ = ensure_certificate(tmp_path / "certs", ["localhost", "127.0.0.1"])
    files.key.chmod(0o644)  # the container's user is not the owner of this host file
    tmp_path.joinpath("certs").chmod(0o755)
    port = free_port()
    env = {
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(port),
        "APP_SSL_CERTFILE": "/certs/cert.pem",
        "APP_SSL_KEYFILE": "/certs/key.pem",
    }
    with run_container(
        frontend_image.tag, env=env, volumes={str(files.cert.parent): "/certs:ro"}
    ) as container:
        container.wait_healthy(f"https://127.0.0.1:{port}/health")
        context = ssl.create_default_context(cafile=str(files.ca))
        status, _, _ = _get(f"https://localhost:{port}/health", context)
        assert status == 200


def test_every_package_in_the_image_is_the_locked_version(frontend_image: BuiltImage) -> None:
    """The image's Python is Debian's release, not ours: a dependency that only that release
    needs must be pinned for it too, not installed at whatever the index has that day."""
    script = "import platform; print(platform.python_version())"
    release = docker_cli("run", "--rm", "--entrypoint", "python", frontend_image.tag, "-c", script)
    # The image's venv has no pip: its own metadata lists what is installed.
    listing = (
        "import importlib.metadata as m; "
        "print('\\n'.join(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions()))"
    )
    freeze = docker_cli("run", "--rm", "--entrypoint", "python", frontend_image.tag, "-c", listing)
    pins = locked(full_version=release.strip())
    unlocked = [
        line
        for name, _, version in (line.partition("==") for line in freeze.splitlines())
        if name and canonicalize_name(name) != "scenario6"
        if pins.get(canonicalize_name(name)) != version
        for line in [f"{name}=={version} (lock: {pins.get(canonicalize_name(name))})"]
    ]
    assert not unlocked, unlocked
