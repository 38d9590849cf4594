"""MOSHI_BACKEND=batched: PersonaPlex's command line with a slot count, checked like the rest."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest

from scenario6.backend.entrypoint import (
    BackendConfig,
    ConfigError,
    describe,
    server_argv,
    server_env,
)
from scenario6.backend.healthcheck import check, probe_url
from scenario6.backend.model_folder import LM_WEIGHTS

BATCHED = {"MOSHI_BACKEND": "batched"}
REPO = Path(__file__).resolve().parents[2]


def _flag_value(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def test_batched_runs_its_module_with_auto_slots_by_default() -> None:
    argv = server_argv(BackendConfig.from_env(BATCHED), python="py")
    assert argv[:3] == ["py", "-m", "scenario6.backend.batched"]
    assert argv[3:] == [
        "--host", "127.0.0.1", "--port", "8998", "--static", "none", "--slots", "auto",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"MOSHI_USE_SSL": "1", "MOSHI_SSL_DIR": "/certs", "MOSHI_PORT": "9000"},
        {"MOSHI_CPU_OFFLOAD": "1", "MOSHI_DEVICE": "cuda:1", "MOSHI_HF_REPO": "me/model"},
        {"MOSHI_HOST": "10.1.2.3", "MOSHI_VOICE_PROMPT_DIR": "/voices", "MOSHI_STATIC": "/ui"},
    ],
    ids=str,
)
def test_batched_gets_every_argument_personaplex_gets_then_its_slots(env: dict[str, str]) -> None:
    single = server_argv(BackendConfig.from_env(env), ["--extra", "1"], python="py")
    batched = server_argv(
        BackendConfig.from_env({**env, **BATCHED, "MOSHI_SLOTS": "6"}),
        ["--extra", "1"],
        python="py",
    )
    assert single[2] == "scenario6.backend.moshi_main"
    assert batched[2] == "scenario6.backend.batched"
    # The same server arguments in the same order; the slot count before the extra ones.
    assert batched[3:] == [*single[3:-2], "--slots", "6", "--extra", "1"]


def test_a_model_folder_is_read_offline_as_for_personaplex(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    config = BackendConfig.from_env({**BATCHED, "MOSHI_MODEL_DIR": str(tmp_path / "model")})
    assert _flag_value(server_argv(config), "--moshi-weight") == str(
        tmp_path / "model" / LM_WEIGHTS
    )
    env = server_env(config, {}, tmp_path / "hub")
    assert env["HF_HUB_OFFLINE"] == "1"


@pytest.mark.parametrize(
    ("value", "slots"), [("1", 1), ("12", 12), (" 3 ", 3), ("auto", "auto"), ("AUTO", "auto")]
)
def test_slot_counts_that_are_accepted(value: str, slots: int | str) -> None:
    config = BackendConfig.from_env({**BATCHED, "MOSHI_SLOTS": value})
    assert config.slots == slots
    assert _flag_value(server_argv(config), "--slots") == str(slots)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "MOSHI_SLOTS must be at least 1"),
        ("-2", "MOSHI_SLOTS must be a whole number ≥ 1 or auto, not '-2'"),
        ("two", "MOSHI_SLOTS must be a whole number ≥ 1 or auto, not 'two'"),
        ("1.5", "not '1.5'"),
        ("4 slots", "not '4 slots'"),
    ],
)
def test_slot_counts_that_are_refused_are_named(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BackendConfig.from_env({**BATCHED, "MOSHI_SLOTS": value})


def test_only_the_batched_server_reads_the_slot_count() -> None:
    for kind in ("personaplex", "loopback"):
        config = BackendConfig.from_env({"MOSHI_BACKEND": kind, "MOSHI_SLOTS": "two"})
        assert "--slots" not in server_argv(config)


def test_a_bad_slot_count_stops_the_container_before_any_server_starts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scenario6.backend.entrypoint"],
        env={"PATH": "/usr/bin:/bin", **BATCHED, "MOSHI_SLOTS": "none", "HF_HOME": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 2, done.stderr
    assert "MOSHI_SLOTS must be a whole number ≥ 1 or auto, not 'none'" in done.stderr
    assert "backend=" not in done.stderr  # refused before the start-up line


def test_the_start_up_line_says_batched_and_how_many_slots() -> None:
    config = BackendConfig.from_env({**BATCHED, "MOSHI_SLOTS": "4"})
    line = describe(config, {"HF_TOKEN": "hf_" + "y" * 30, "HF_HOME": "/data/hf"})
    assert "backend=batched" in line and "slots=4" in line
    assert "HF_TOKEN=set" in line and "y" * 30 not in line


class _NotFound(BaseHTTPRequestHandler):
    """What PersonaPlex's aiohttp server answers for a path it has no route for."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def _answering_404() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


async def test_the_health_probe_takes_a_404_as_ready_as_for_personaplex() -> None:
    with _answering_404() as port:
        config = BackendConfig.from_env({**BATCHED, "MOSHI_PORT": str(port)})
        assert probe_url(config) == f"http://127.0.0.1:{port}/health"
        healthy, seen = await asyncio.to_thread(check, config, 5)
        assert healthy, seen
        loopback = BackendConfig.from_env({"MOSHI_BACKEND": "loopback", "MOSHI_PORT": str(port)})
        # A loopback backend answers its /health route: a 404 there is not a healthy one.
        assert (await asyncio.to_thread(check, loopback, 5))[0] is False
