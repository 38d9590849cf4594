"""``scenario6 bench load URL`` against real frontends and loopback backends on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

from tests.support.servers import HOST, frontend_process, loopback_process

CODE = "load-test-code-7341"


@contextlib.contextmanager
def frontend(backends: int, **env: str) -> Iterator[str]:
    """A frontend process in front of ``backends`` loopback backend processes; its URL."""
    with contextlib.ExitStack() as stack:
        ports = [stack.enter_context(loopback_process())[1] for _ in range(backends)]
        pool = ",".join(f"ws://{HOST}:{port}" for port in ports)
        settings = {"MOSHI_WS_URL": pool, "MAX_SESSIONS_PER_CLIENT": "8", **env}
        _, port = stack.enter_context(frontend_process(settings))
        yield f"http://{HOST}:{port}"


def bench_load(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scenario6", "bench", "load", *args]
    # Generous: the sessions take seconds; only a hang should reach it.
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def result(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(json.loads(done.stdout))


def test_sessions_through_two_backends_report_handshakes_and_answers() -> None:
    with frontend(2) as url:
        report = result(bench_load(url, "--sessions", "3", "--duration-s", "4", "--json"))
    assert report["sessions_started"] == report["sessions_completed"] == 3
    assert report["failures"] == {}
    assert report["handshake"]["samples"] == 3
    assert report["handshake"]["min_ms"] > 0
    # The loopback backend echoes after 200 ms: each answer comes back no sooner.
    assert report["answer_latency"]["samples"] > 10
    assert report["answer_latency"]["min_ms"] >= 150
    assert report["longest_audio_gap"]["samples"] == 3
    assert report["backends_used"] == 2


def test_callers_beyond_the_backends_report_their_wait_in_the_queue() -> None:
    with frontend(1) as url:
        args = ["--sessions", "3", "--duration-s", "2", "--ramp-s", "0.3", "--json"]
        report = result(bench_load(url, *args))
    assert report["sessions_completed"] == 3
    assert report["sessions_queued"] == 2
    assert report["queue_wait"]["samples"] == 2
    # Each waits for at least one whole conversation ahead of it.
    assert report["queue_wait"]["min_ms"] >= 1500


def test_a_target_outside_loopback_is_refused_without_allow_remote() -> None:
    done = bench_load("http://192.0.2.10:8010", "--sessions", "1", "--duration-s", "1")
    assert done.returncode == 2
    assert "not a loopback address" in done.stderr
    assert "--allow-remote" in done.stderr


def test_bounds_on_sessions_and_time_are_enforced() -> None:
    done = bench_load(f"http://{HOST}:9", "--sessions", "257")
    assert done.returncode == 2 and "--sessions must be from 1 to 256" in done.stderr
    done = bench_load(f"http://{HOST}:9", "--duration-s", "3601")
    assert done.returncode == 2 and "--duration-s must be from 0 to 3600" in done.stderr


def test_with_the_gate_on_it_signs_in_with_the_code() -> None:
    with frontend(1, ACCESS_CODES=f"bench:{CODE}") as url:
        refused = bench_load(url, "--sessions", "1", "--duration-s", "1", "--json")
        env = {**os.environ, "ACCESS_CODE": CODE}
        report = result(bench_load(url, "--sessions", "1", "--duration-s", "2", "--json", env=env))
    # Without the code the server closes the session as not signed in.
    assert refused.returncode == 1
    assert list(json.loads(refused.stdout)["failures"]) == ["4401"]
    assert report["signed_in"] is True
    assert report["sessions_completed"] == 1 and report["failures"] == {}
    assert CODE not in json.dumps(report)
