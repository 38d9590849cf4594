"""``scenario6 bench load URL`` against real frontends and loopback backends on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from scenario6.bench import load
from scenario6.bench.catalog import BY_NAME
from scenario6.bench.figures import number
from scenario6.bench.redis_server import PROGRAM
from scenario6.bench.report import render_markdown
from tests.bench.results import MACHINE
from tests.conftest import require_tool
from tests.support.servers import HOST, frontend_process, loopback_process

pytestmark = pytest.mark.slow  # real-time callers for seconds; the proxy's paths are fast-tier

CODE = "load-test-code-7341"
# Two replicas with keys of their own: a cookie from one is refused by the other.
SECRETS = ("first-replica-key-0123456789abcdef", "second-replica-key-0123456789abcde")


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


def test_several_urls_take_the_callers_in_turn_each_signed_in_on_its_own() -> None:
    env = {**os.environ, "ACCESS_CODE": CODE}
    with contextlib.ExitStack() as stack:
        urls = [
            stack.enter_context(frontend(1, ACCESS_CODES=f"bench:{CODE}", ACCESS_SECRET=secret))
            for secret in SECRETS
        ]
        args = ["--sessions", "4", "--duration-s", "2", "--ramp-s", "0.3"]
        report = result(bench_load(*urls, *args, "--json", env=env))
        table = bench_load(*urls, "--sessions", "2", "--duration-s", "1", env=env)
    assert report["failures"] == {}
    assert report["targets"] == urls
    # Callers 1 and 3 to the first, 2 and 4 to the second; one slot each: one of two waits.
    assert [
        (row["target"], row["sessions"], row["sessions_completed"], row["sessions_queued"])
        for row in report["replicas"]
    ] == [(urls[0], 2, 2, 1), (urls[1], 2, 2, 1)]
    assert table.returncode == 0, table.stdout + table.stderr
    assert f"on {urls[0]}, {urls[1]} in turn" in table.stdout
    for url in urls:
        assert f"  {url}: 1 of 1 completed (0 queued)" in table.stdout


def test_one_url_outside_loopback_among_several_is_refused() -> None:
    done = bench_load(f"http://{HOST}:9", "http://192.0.2.10:8010", "--sessions", "2")
    assert done.returncode == 2
    assert "refusing to load 192.0.2.10" in done.stderr


def _load_section(measured: dict[str, Any]) -> str:
    markdown = render_markdown({"load": measured}, MACHINE, datetime.now(timezone.utc))
    return markdown.split(f"## {BY_NAME['load'].title}", 1)[1].split("\n## ", 1)[0]


def test_the_suite_loads_one_frontend_then_three_sharing_redis_with_the_same_callers() -> None:
    require_tool(PROGRAM)
    measured = load.measure(sessions=4, duration_s=2, backends=2)
    single, shared = measured["single"], measured["shared"]
    for run in (single, shared):
        assert run["sessions_completed"] == 4 and run["failures"] == {}
        # Four callers on two one-slot backends: two wait, whichever frontend they reached.
        assert run["sessions_queued"] == 2 and run["queue_wait"]["samples"] == 2
    assert (single["frontends"], shared["frontends"]) == (1, 3)
    assert [row["sessions"] for row in shared["replicas"]] == [2, 1, 1]
    # An empty Redis books nothing for one lease TTL (5 s): the first sessions wait it out.
    assert shared["warm_up_handshake"]["min_ms"] >= 5000 > single["warm_up_handshake"]["max_ms"]
    section = _load_section(measured)
    for where in ("1 frontend, state in memory", "3 frontends sharing Redis"):
        assert f"| wait in the queue, {where} | " in section
        assert f"| time to the handshake of a first session, {where} | " in section
        assert f"| failed sessions, {where} | — | 0 | — | 1 run |" in section
    for key, label in (("handshake", "handshake"), ("queue_wait", "queue wait")):
        cost = shared[key]["p50_ms"] - single[key]["p50_ms"]
        assert measured["redis_cost"][f"{key}_p50_ms"] == round(cost, 1)
        cell = number(round(cost, 1))
        assert f"| what Redis adds per session: {label} | — | {cell} ms | — |" in section


def test_without_redis_server_the_shared_run_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no redis-server on it
    measured = load.measure(sessions=1, duration_s=1, backends=1)
    assert measured["single"]["sessions_completed"] == 1, measured["single"]["failure_reasons"]
    section = _load_section(measured)
    assert (
        "| every figure, 3 frontends sharing Redis |  | not measured: redis-server not found"
        in (section)
    )
    assert "| what Redis adds per session: handshake |  | not measured: " in section
