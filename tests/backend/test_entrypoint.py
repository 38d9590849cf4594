"""The backend container's entrypoint: environment → server command line."""

from __future__ import annotations

import asyncio
import itertools
import sys
from pathlib import Path

import pytest

from scenario6.backend.entrypoint import BackendConfig, ConfigError, describe, main, server_argv
from scenario6.backend.healthcheck import check, probe_url
from tests.support.servers import free_port, loopback_server


def _flag_value(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def test_defaults_run_personaplex_on_8998_over_plain_http() -> None:
    argv = server_argv(BackendConfig.from_env({}), python="py")
    assert argv[:3] == ["py", "-m", "scenario6.backend.moshi_main"]
    assert argv[3:] == ["--host", "127.0.0.1", "--port", "8998", "--static", "none"]


@pytest.mark.parametrize(
    ("ssl", "offload", "host", "port"),
    list(itertools.product(["1", "0"], ["true", "false"], ["0.0.0.0", "10.1.2.3"], ["8998", "9"])),
)
def test_personaplex_flags_follow_every_combination(
    ssl: str, offload: str, host: str, port: str
) -> None:
    env = {
        "MOSHI_USE_SSL": ssl,
        "MOSHI_CPU_OFFLOAD": offload,
        "MOSHI_HOST": host,
        "MOSHI_PORT": port,
        "MOSHI_SSL_DIR": "/certs",
    }
    argv = server_argv(BackendConfig.from_env(env), python="py")
    assert argv[:3] == ["py", "-m", "scenario6.backend.moshi_main"]
    # A wildcard would make upstream look up a LAN address (and fail without a route).
    assert _flag_value(argv, "--host") == ("127.0.0.1" if host == "0.0.0.0" else host)
    assert _flag_value(argv, "--port") == port
    assert _flag_value(argv, "--ssl") == ("/certs" if ssl == "1" else None)
    assert ("--cpu-offload" in argv) == (offload == "true")


@pytest.mark.parametrize("ssl", [True, False])
def test_loopback_runs_the_scenario6_command_with_tls_files(ssl: bool) -> None:
    env = {"MOSHI_BACKEND": "loopback", "MOSHI_PORT": "9100", "MOSHI_SSL_DIR": "/c"}
    if ssl:
        env["MOSHI_USE_SSL"] = "yes"
    argv = server_argv(BackendConfig.from_env(env), ["--prompt-ms", "50"], python="py")
    assert argv[:3] == ["py", "-m", "scenario6.backend.loopback_main"]
    assert _flag_value(argv, "--host") == "0.0.0.0"
    assert _flag_value(argv, "--port") == "9100"
    assert _flag_value(argv, "--ssl-certfile") == ("/c/cert.pem" if ssl else None)
    assert _flag_value(argv, "--ssl-keyfile") == ("/c/key.pem" if ssl else None)
    assert argv[-2:] == ["--prompt-ms", "50"]


def test_optional_upstream_flags_and_extra_arguments_pass_through() -> None:
    env = {
        "MOSHI_DEVICE": "cpu",
        "MOSHI_HF_REPO": "me/my-model",
        "MOSHI_VOICE_PROMPT_DIR": "/voices",
        "MOSHI_STATIC": "/ui",
    }
    argv = server_argv(BackendConfig.from_env(env), ["--moshi-weight", "/w.safetensors"])
    assert argv[0] == sys.executable
    assert _flag_value(argv, "--device") == "cpu"
    assert _flag_value(argv, "--hf-repo") == "me/my-model"
    assert _flag_value(argv, "--voice-prompt-dir") == "/voices"
    assert _flag_value(argv, "--static") == "/ui"
    assert argv[-2:] == ["--moshi-weight", "/w.safetensors"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MOSHI_PORT": "http"}, "MOSHI_PORT must be a number"),
        ({"MOSHI_PORT": "70000"}, "between 1 and 65535"),
        ({"MOSHI_USE_SSL": "maybe"}, "MOSHI_USE_SSL must be a boolean"),
        ({"MOSHI_BACKEND": "gpu"}, "one of personaplex, loopback, batched, not 'gpu'"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BackendConfig.from_env(env)


def test_bad_environment_exits_2_before_starting_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([], {"MOSHI_PORT": "0"}) == 2
    assert "MOSHI_PORT" in capsys.readouterr().err


def test_the_start_up_line_never_contains_the_token() -> None:
    token = "hf_" + "x" * 30
    line = describe(BackendConfig.from_env({}), {"HF_TOKEN": token, "HF_HOME": "/data/hf"})
    assert token not in line
    assert "HF_TOKEN=set" in line
    assert "HF_HOME=/data/hf" in line


def test_tls_that_cannot_be_prepared_refuses_to_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the certificate directory should be")
    env = {"MOSHI_USE_SSL": "1", "MOSHI_SSL_DIR": str(blocker / "certs"), "HF_HOME": ""}
    assert main([], env) == 1
    assert "refusing to serve plain HTTP" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({}, "http://127.0.0.1:8998/health"),
        ({"MOSHI_HOST": "10.0.0.5", "MOSHI_USE_SSL": "1"}, "https://127.0.0.1:8998/health"),
        ({"MOSHI_BACKEND": "loopback"}, "http://127.0.0.1:8998/health"),
        ({"MOSHI_BACKEND": "loopback", "MOSHI_HOST": "10.0.0.5"}, "http://10.0.0.5:8998/health"),
        ({"MOSHI_BACKEND": "loopback", "MOSHI_HOST": "::1"}, "http://[::1]:8998/health"),
    ],
)
def test_health_probe_asks_where_the_server_listens(env: dict[str, str], url: str) -> None:
    assert probe_url(BackendConfig.from_env(env)) == url


async def test_health_probe_judges_a_real_loopback_server() -> None:
    port = free_port()
    config = BackendConfig.from_env({"MOSHI_BACKEND": "loopback", "MOSHI_PORT": str(port)})
    assert check(config, timeout=1)[0] is False
    async with loopback_server(port=port):
        healthy, seen = await asyncio.to_thread(check, config)
    assert healthy, seen
    assert "status 'ok'" in seen
