"""The built-in dashboard as the control API serves it: a login page without the token, the
page and its modules with it, and the frontend's sessions relayed (here: a run without one)."""

from __future__ import annotations

import asyncio
import http.client
import json
from pathlib import Path

from scenario6.run.control import state
from scenario6.run.supervisor import Supervisor
from tests.run.test_model import supervisor_for
from tests.support.apphost import write_web_app
from tests.support.servers import free_port
from tests.support.waiting import until

PAGE = {"Accept": "text/html,application/xhtml+xml"}


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, str, str]:
    """(status, redirect target or content type, body) of one GET; a cookie set is kept in
    ``headers`` for the next request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers)
    reply = connection.getresponse()
    body = reply.read().decode()
    connection.close()
    if reply.getheader("set-cookie"):
        headers["Cookie"] = str(reply.getheader("set-cookie")).split(";")[0]
    return reply.status, reply.getheader("location") or reply.getheader("content-type") or "", body


def visit(run: state.RunState) -> dict[str, tuple[int, str, str]]:
    session: dict[str, str] = {}
    return {
        "page without token": get(run.port, "/dashboard/", PAGE),
        "api without token": get(run.port, "/api/v1/resources", PAGE),
        "login": get(run.port, f"/login?t={run.token}", session),
        "root": get(run.port, "/", {**PAGE, **session}),
        "page": get(run.port, "/dashboard/", {**PAGE, **session}),
        "module": get(run.port, "/dashboard/js/main.js", session),
        "sessions": get(run.port, "/api/v1/sessions", session),
    }


def test_the_dashboard_asks_for_the_token_then_serves_its_page(tmp_path: Path) -> None:
    supervisor: Supervisor = supervisor_for(write_web_app(tmp_path, free_port()), "unused")
    supervisor.options.control = True
    seen: dict[str, tuple[int, str, str]] = {}

    async def scenario() -> None:
        running = asyncio.create_task(supervisor.run())
        await until(lambda: supervisor.phase == "running", "every resource up", 60)
        run = state.read(tmp_path)
        assert run is not None
        seen.update(await asyncio.to_thread(visit, run))
        supervisor.request_stop()
        assert await running == 0

    asyncio.run(scenario())
    status, kind, body = seen["page without token"]
    assert (status, kind.split(";")[0]) == (401, "text/html")
    assert 'action="/login"' in body and "scenario6 ps" in body
    assert seen["api without token"][:2] == (401, "application/json")
    assert seen["root"][:2] == (303, "/dashboard/")
    assert seen["page"][0] == 200 and "/dashboard/js/main.js" in seen["page"][2]
    assert seen["module"][0] == 200 and "javascript" in seen["module"][1]
    sessions = json.loads(seen["sessions"][2])
    assert seen["sessions"][0] == 200
    assert sessions["available"] is False and "no frontend" in sessions["reason"]
