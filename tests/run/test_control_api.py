"""The control API of a real run: only its token opens it, only from its own origin and host."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import stat
from pathlib import Path

from scenario6.run.control import state
from scenario6.run.supervisor import Supervisor
from tests.run.test_model import supervisor_for
from tests.support.apphost import write_web_app
from tests.support.servers import free_port
from tests.support.waiting import until


def ask(
    port: int, path: str, headers: dict[str, str], method: str = "GET"
) -> tuple[int, dict[str, str], object]:
    """(status, headers, JSON body) of one request, sent with exactly ``headers``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(method, path, skip_host=True)
    for key, value in {"Host": f"127.0.0.1:{port}", **headers}.items():
        if value:
            connection.putheader(key, value)
    connection.endheaders()
    reply = connection.getresponse()
    body = reply.read()
    connection.close()
    return reply.status, dict(reply.getheaders()), json.loads(body) if body else None


def checks(port: int, token: str) -> dict[str, int]:
    bearer = {"Authorization": f"Bearer {token}"}
    own = f"http://127.0.0.1:{port}"
    status = {
        "no token": ask(port, "/api/v1/resources", {})[0],
        "wrong token": ask(port, "/api/v1/resources", {"Authorization": "Bearer x" + token})[0],
        "wrong login": ask(port, "/login?t=nope", {})[0],
        "other origin": ask(port, "/api/v1/resources", {**bearer, "Origin": "http://evil.test"})[0],
        "foreign host": ask(port, "/api/v1/resources", {**bearer, "Host": f"evil.test:{port}"})[0],
        "stop from another origin": ask(
            port, "/api/v1/stop", {**bearer, "Origin": "http://evil.test"}, "POST"
        )[0],
        "token": ask(port, "/api/v1/resources", bearer)[0],
        "own origin": ask(port, "/api/v1/resources", {**bearer, "Origin": own})[0],
        "localhost": ask(port, "/api/v1/app", {**bearer, "Host": f"localhost:{port}"})[0],
    }
    code, headers, _ = ask(port, f"/login?t={token}", {})
    cookie = headers["set-cookie"]
    assert code == 303 and headers["location"] == "/"
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    status["cookie"] = ask(port, "/api/v1/resources", {"Cookie": cookie.split(";")[0]})[0]
    return status


def test_the_api_refuses_without_the_token_and_from_other_origins(tmp_path: Path) -> None:
    supervisor: Supervisor = supervisor_for(write_web_app(tmp_path, free_port()), "unused")
    supervisor.options.control = True
    found: dict[str, object] = {}

    async def scenario() -> None:
        running = asyncio.create_task(supervisor.run())
        await until(lambda: supervisor.phase == "running", "every resource up", 60)
        run = state.read(tmp_path)
        assert run is not None and run.pid == os.getpid()
        found["mode"] = stat.S_IMODE((state.run_dir(tmp_path) / state.STATE_FILE).stat().st_mode)
        found["status"] = await asyncio.to_thread(checks, run.port, run.token)
        found["resources"] = run.resources
        supervisor.request_stop()
        assert await running == 0

    asyncio.run(scenario())
    assert found["status"] == {
        "no token": 401,
        "wrong token": 401,
        "wrong login": 401,
        "other origin": 403,
        "foreign host": 403,
        "stop from another origin": 403,
        "token": 200,
        "own origin": 200,
        "localhost": 200,
        "cookie": 200,
    }
    assert found["mode"] == 0o600
    assert list(found["resources"]) == ["web"]  # type: ignore[call-overload]
    assert state.read(tmp_path) is None  # the state file goes with the run


def test_a_websocket_route_behind_the_guard_needs_the_token_too() -> None:
    """Upgrades pass the same checks as requests: a route added later is not left open."""
    import uvicorn
    import websockets
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    from scenario6.run.control.guard import Guard

    async def echo(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text(await socket.receive_text())
        await socket.close()

    port, token = free_port(), "t" * 32
    app = Guard(Starlette(routes=[WebSocketRoute("/ws", echo)]), port=port, token=token)
    refused: list[int] = []

    async def scenario() -> str:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        serving = asyncio.create_task(server.serve())
        await until(lambda: server.started, "the guarded app serving", 10)
        url = f"ws://127.0.0.1:{port}/ws"
        try:
            bearer = {"Authorization": f"Bearer {token}"}
            for headers in (
                {},
                {"Authorization": "Bearer wrong"},
                {**bearer, "Origin": "http://evil.test"},
            ):
                try:
                    async with websockets.connect(url, additional_headers=headers):
                        pass
                except websockets.InvalidStatus as refusal:
                    refused.append(refusal.response.status_code)
            async with websockets.connect(url, additional_headers=bearer) as socket:
                await socket.send("hello")
                return str(await socket.recv())
        finally:
            server.should_exit = True
            await serving

    assert asyncio.run(scenario()) == "hello"
    assert refused == [403, 403, 403]
