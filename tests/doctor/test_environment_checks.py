"""Python, venv, token and ports: each check's pass and fail path, set up for real."""

from __future__ import annotations

import ctypes.util
import socket
from pathlib import Path

from scenario6.doctor import Context, Status
from scenario6.doctor.huggingface import check_token
from scenario6.doctor.opus import check_opus
from scenario6.doctor.ports import check_ports
from scenario6.doctor.python import check_python, check_venv
from scenario6.setup import project
from tests.conftest import require_tool
from tests.support.servers import free_port

from .conftest import base_env

GOOD_TOKEN = "hf_" + "AbCdEf0123456789" * 2


def test_python_version(checkout: Path) -> None:
    ctx = Context(checkout, base_env())
    assert check_python(ctx).status is Status.OK
    old = check_python(ctx, version=(3, 9, 18))
    assert old.status is Status.FAIL
    assert "3.9.18" in old.summary and "3.10" in old.summary


def test_venv_in_sync(checkout: Path) -> None:
    result = check_venv(Context(checkout, base_env()))
    assert result.status is Status.OK, result


def test_venv_missing(checkout: Path) -> None:
    (checkout / ".venv" / "bin" / "python").unlink()
    result = check_venv(Context(checkout, base_env()))
    assert result.status is Status.FAIL
    assert "setup_scenario6.py" in result.fix


def test_venv_with_a_wrong_stamp(checkout: Path) -> None:
    project.stamp_path(checkout).write_text("0" * 64 + "\n")
    result = check_venv(Context(checkout, base_env()))
    assert result.status is Status.FAIL
    assert "out of date" in result.summary


def test_venv_stale_after_a_lock_change(checkout: Path) -> None:
    (checkout / "requirements.lock").write_text("fastapi==0.1\n")
    assert check_venv(Context(checkout, base_env())).status is Status.FAIL


def test_token_unset(checkout: Path) -> None:
    result = check_token(Context(checkout, base_env()))
    assert result.status is Status.FAIL
    assert "not set" in result.summary
    assert "huggingface.co/nvidia/personaplex-7b-v1" in result.fix


def test_token_malformed_is_never_shown(checkout: Path) -> None:
    secret = "not-a-token-S3CRET"
    result = check_token(Context(checkout, base_env(HF_TOKEN=secret)))
    assert result.status is Status.FAIL
    assert "does not look like" in result.summary
    assert "S3CRET" not in repr(result)


def test_token_from_environment(checkout: Path) -> None:
    result = check_token(Context(checkout, base_env(HF_TOKEN=GOOD_TOKEN)))
    assert result.status is Status.OK
    assert GOOD_TOKEN not in repr(result)


def test_token_from_dotenv(checkout: Path) -> None:
    (checkout / ".env").write_text(f"# secrets\nHF_TOKEN={GOOD_TOKEN}\n")
    result = check_token(Context(checkout, base_env()))
    assert result.status is Status.OK
    assert ".env" in result.summary and GOOD_TOKEN not in repr(result)


def test_ports_free(checkout: Path) -> None:
    ports = [free_port(), free_port()]
    env = base_env(FRONTEND_PORT=str(ports[0]), MOSHI_PORT=str(ports[1]))
    result = check_ports(Context(checkout, env, backend="loopback"))
    assert result.status is Status.OK, result


def test_port_in_use(checkout: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        env = base_env(FRONTEND_PORT=str(busy), MOSHI_PORT=str(free_port()))
        result = check_ports(Context(checkout, env, backend="loopback"))
    assert result.status is Status.FAIL
    assert f"{busy} (frontend)" in result.summary
    assert "FRONTEND_PORT" in result.fix


def test_external_backend_needs_no_backend_port(checkout: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        env = base_env(FRONTEND_PORT=str(free_port()), MOSHI_PORT=str(busy))
        ctx = Context(checkout, env, backend="wss://gpu.example:8998")
        assert check_ports(ctx).status is Status.OK


def test_libopus(checkout: Path) -> None:
    if ctypes.util.find_library("opus") is None:
        require_tool("libopus0")  # skips locally, fails in CI
    ctx = Context(checkout, base_env())
    assert check_opus(ctx).status is Status.OK
    missing = check_opus(ctx, library="opus-that-does-not-exist")
    assert missing.status is Status.FAIL and "apt-get install libopus0" in missing.fix
