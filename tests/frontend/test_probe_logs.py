"""Health probes come every few seconds from orchestrators: answered ones stay out of the
access logs of both servers, while every other request is still logged."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from tests.support.servers import HOST, frontend_process, loopback_process


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return error.code


def wait_for_line(read: Callable[[], str], text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = read()
        if text in output:
            return output
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never logged:\n{read()}")


def test_frontend_logs_requests_but_not_answered_probes() -> None:
    with frontend_process({"MOSHI_WS_URL": f"ws://{HOST}:9"}) as (server, port):
        for _ in range(3):
            assert get(f"http://{HOST}:{port}/health") == 200
        assert get(f"http://{HOST}:{port}/api/config") == 200
        assert get(f"http://{HOST}:{port}/no-such-page") == 404
        output = wait_for_line(server.output, '"GET /no-such-page HTTP/1.1" 404')
    assert '"GET /api/config HTTP/1.1" 200' in output
    assert "GET /health" not in output


def test_loopback_logs_requests_but_not_answered_probes() -> None:
    with loopback_process() as (server, port):
        for _ in range(3):
            assert get(f"http://{HOST}:{port}/health") == 200
        assert get(f"http://{HOST}:{port}/no-such-page") == 404
        output = wait_for_line(server.output, '"GET /no-such-page HTTP/1.1" 404')
    assert "GET /health" not in output
