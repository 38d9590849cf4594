"""The backend image's personaplex target, built here for a CPU and run with the tiny model.

The image is the product's (``moshi/Dockerfile``), only its build arguments differ from a GPU
host's; the server inside is NVIDIA's, unchanged. Only the weights are random.
"""

from __future__ import annotations

import ssl
import time

import numpy as np
import pytest

from scenario6.bench.harness import free_port
from scenario6.facts.contract import CA_FILE, CERTS_DIR, MODEL_MOUNT
from tests.support.audio import encode_messages, sweep
from tests.support.client import conversation
from tests.support.docker import BuiltImage, Container, docker_cli, image_config, run_container
from tests.support.docker import volume as docker_volume
from tests.support.personaplex import TinyPersonaPlex
from tests.support.personaplex_image import TORCH, wait_docker_healthy

pytestmark = pytest.mark.docker

CHAT = "/api/chat?voice_prompt=NATF2.pt&text_prompt=Be%20brief."


def _env(port: int, **extra: str) -> dict[str, str]:
    return {
        "MOSHI_HOST": "127.0.0.1",
        "MOSHI_PORT": str(port),
        "MOSHI_DEVICE": "cpu",
        "MOSHI_MODEL_DIR": MODEL_MOUNT,
        "OMP_NUM_THREADS": "1",
        **extra,
    }


async def _talk(url: str, context: ssl.SSLContext | None = None) -> np.ndarray:
    """A short conversation as real clients hold it: audio only after the handshake."""
    sent = sweep(2.0)
    async with conversation(url, ssl=context) as talk:
        await talk.wait_for(talk.handshake.is_set, timeout=120)
        await talk.send_audio(encode_messages(sent))
        # Output is clocked by input: about as much audio comes back as went in.
        await talk.wait_for(lambda: len(talk.decoder.pcm) >= len(sent) * 0.6, timeout=60)
    return talk.decoder.pcm


def test_the_image_holds_the_cpu_torch_it_was_built_with(personaplex_image: BuiltImage) -> None:
    config = image_config(personaplex_image.tag)
    assert config["Entrypoint"] == ["python", "-m", "scenario6.backend.entrypoint"]
    assert config["User"] == "app"
    assert "MOSHI_BACKEND=personaplex" in config["Env"]  # type: ignore[operator]
    probe = "import torch, moshi.models; print(torch.__version__)"
    found = docker_cli("run", "--rm", "--entrypoint", "python", personaplex_image.tag, "-c", probe)
    assert found.strip().startswith(TORCH.removeprefix("torch=="))


async def test_a_conversation_with_the_real_server_and_a_local_model_folder(
    personaplex_image: BuiltImage, tiny_personaplex: TinyPersonaPlex
) -> None:
    port = free_port()
    mounts = {str(tiny_personaplex.model_dir): f"{MODEL_MOUNT}:ro"}
    with run_container(personaplex_image.tag, env=_env(port), volumes=mounts) as container:
        wait_docker_healthy(container)
        received = await _talk(f"ws://127.0.0.1:{port}{CHAT}")
        assert len(received) > 0
        logs = container.logs(tail=200)
        assert f"model_dir={MODEL_MOUNT} (offline)" in logs
        assert "HF_TOKEN" not in logs
        # The entrypoint exec'd the server, so Docker's SIGTERM reaches it: no SIGKILL (137).
        _, code = container.stop(grace_s=20)
        assert code != 137, container.logs()


async def test_the_real_server_over_tls_with_the_entrypoints_own_ca(
    personaplex_image: BuiltImage, tiny_personaplex: TinyPersonaPlex
) -> None:
    port = free_port()
    env = _env(port, MOSHI_USE_SSL="1")
    with docker_volume() as certs:
        mounts = {str(tiny_personaplex.model_dir): f"{MODEL_MOUNT}:ro", certs: CERTS_DIR}
        with run_container(personaplex_image.tag, env=env, volumes=mounts) as container:
            wait_docker_healthy(container)
            context = ssl.create_default_context(cadata=_ca(container))
            received = await _talk(f"wss://localhost:{port}{CHAT}", context)
            assert len(received) > 0
            with pytest.raises(ssl.SSLCertVerificationError):
                await _talk(f"wss://localhost:{port}{CHAT}", ssl.create_default_context())


def test_a_model_folder_without_its_files_stops_the_container_with_a_reason(
    personaplex_image: BuiltImage,
) -> None:
    port = free_port()
    with run_container(personaplex_image.tag, env=_env(port)) as container:
        deadline = time.monotonic() + 60
        while not container.health().startswith("exited") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert container.health() == "exited (2)"
        assert f"MOSHI_MODEL_DIR={MODEL_MOUNT} lacks model.safetensors" in container.logs()


def _ca(container: Container) -> str:
    return container.exec("cat", CA_FILE)
