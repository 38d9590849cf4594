"""Container engine, NVIDIA runtime, GPU memory and model cache, against the real engine."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

from scenario6.doctor import Context, Status
from scenario6.doctor.containers import check_engine, check_nvidia_runtime
from scenario6.doctor.gpu import check_gpu
from scenario6.doctor.huggingface import MODEL_DIR, check_model_cache
from scenario6.doctor.ports import check_ports, port_in_use
from tests.support.docker import docker_cli
from tests.support.servers import free_port

from .conftest import base_env

Tools = Callable[[str, str], Path]


def test_no_engine_on_path(checkout: Path, empty_path: str) -> None:
    result = check_engine(Context(checkout, base_env(PATH=empty_path)))
    assert result.status is Status.FAIL
    assert "neither docker nor podman" in result.summary
    assert "install Docker" in result.fix


def test_chosen_runtime_missing(checkout: Path, empty_path: str) -> None:
    env = base_env(PATH=empty_path, SCENARIO6_CONTAINER_RUNTIME="podman")
    result = check_engine(Context(checkout, env))
    assert result.status is Status.FAIL
    assert "SCENARIO6_CONTAINER_RUNTIME=podman" in result.summary


def test_engine_at_a_dead_socket(checkout: Path, docker: str, tmp_path: Path) -> None:
    env = base_env(DOCKER_HOST=f"unix://{tmp_path}/dead.sock")
    result = check_engine(Context(checkout, env))
    assert result.status is Status.FAIL
    assert "not reachable" in result.summary
    assert "start the engine" in result.fix


def test_engine_reachable(checkout: Path, docker: str) -> None:
    result = check_engine(Context(checkout, base_env()))
    assert result.status is Status.OK, result
    assert result.summary.startswith("docker engine ")


def test_no_nvidia_runtime(checkout: Path, docker: str) -> None:
    # This engine was started without the NVIDIA toolkit, as on any machine without a GPU.
    result = check_nvidia_runtime(Context(checkout, base_env()))
    assert result.status is Status.FAIL
    assert "nvidia-ctk" in result.fix


def test_nvidia_toolkit_found(checkout: Path, docker: str, tools: Tools) -> None:
    folder = tools("nvidia-ctk", "exit 0")
    env = base_env()
    env["PATH"] = f"{folder}:{env['PATH']}"
    result = check_nvidia_runtime(Context(checkout, env))
    assert result.status is Status.OK
    assert "NVIDIA Container Toolkit" in result.summary


def test_nvidia_runtime_without_engine(checkout: Path, empty_path: str) -> None:
    result = check_nvidia_runtime(Context(checkout, base_env(PATH=empty_path)))
    assert result.status is Status.SKIP


def test_no_gpu_driver(checkout: Path, empty_path: str) -> None:
    result = check_gpu(Context(checkout, base_env(PATH=empty_path)))
    assert result.status is Status.FAIL
    assert "nvidia-smi not found" in result.summary


def test_gpu_large_enough(checkout: Path, tools: Tools) -> None:
    folder = tools("nvidia-smi", 'echo "NVIDIA L40S, 46068"')
    result = check_gpu(Context(checkout, base_env(PATH=str(folder))))
    assert result.status is Status.OK
    assert result.summary == "NVIDIA L40S, 45 GB"


def test_small_gpu_suggests_cpu_offload(checkout: Path, tools: Tools) -> None:
    folder = tools("nvidia-smi", 'printf "Tesla T4, 15360\\nTesla T4, 15360\\n"')
    result = check_gpu(Context(checkout, base_env(PATH=str(folder))))
    assert result.status is Status.WARN
    assert "15 GB (largest of 2)" in result.summary
    assert "CPU_OFFLOAD=1" in result.fix


def test_broken_driver(checkout: Path, tools: Tools) -> None:
    folder = tools("nvidia-smi", 'echo "NVIDIA-SMI has failed to communicate" >&2; exit 9')
    result = check_gpu(Context(checkout, base_env(PATH=str(folder))))
    assert result.status is Status.FAIL
    assert "failed to communicate" in result.summary


def test_model_cache(checkout: Path, docker: str) -> None:
    volume = f"scenario6-doctor-test-{uuid.uuid4().hex[:8]}"
    ctx = Context(checkout, base_env())
    missing = check_model_cache(ctx, volume=volume)
    assert missing.status is Status.WARN and "does not exist yet" in missing.summary
    docker_cli("volume", "create", "--label", "scenario6.test=1", volume)
    try:
        empty = check_model_cache(ctx, volume=volume)
        assert empty.status is Status.WARN and "holds no" in empty.summary
        mountpoint = Path(docker_cli("volume", "inspect", volume, "-f", "{{.Mountpoint}}").strip())
        snapshot = mountpoint / MODEL_DIR / "snapshots" / "0123abc"
        snapshot.mkdir(parents=True)
        (snapshot / "config.json").write_text("{}")
        held = check_model_cache(ctx, volume=volume)
        assert held.status is Status.OK, held
        assert "nvidia/personaplex-7b-v1" in held.summary
    finally:
        docker_cli("volume", "rm", "-f", volume, check=False)


def test_backend_port_held_by_our_own_container(
    checkout: Path, docker: str, base_image: str
) -> None:
    """A backend container left running by `scenario6 run` holds 8998: that is not a problem."""
    frontend_port, backend_port = free_port(), free_port()
    container = docker_cli(
        "run", "-d", "--network", "host", "--label", "scenario6.test=1",
        "--label", "scenario6.resource=scenario6-moshi", base_image,
        "python3", "-m", "http.server", str(backend_port), "--bind", "127.0.0.1",
    ).strip()  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not port_in_use(backend_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        env = base_env(FRONTEND_PORT=str(frontend_port), MOSHI_PORT=str(backend_port))
        result = check_ports(Context(checkout, env, backend="personaplex"))
        assert result.status is Status.OK, result
        assert "already running" in result.summary
    finally:
        docker_cli("rm", "-f", container, check=False)
