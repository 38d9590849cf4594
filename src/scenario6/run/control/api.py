"""The control API's routes: resources, their changes and logs, commands, and stopping.

Every response is JSON, except the two streams (Server-Sent Events: ``/api/v1/watch`` and
``/api/v1/resources/NAME/logs?follow=1``). The dashboard's static files, when installed,
are served under ``/dashboard/``; ``/api/v1/sessions`` relays the frontend's session counts.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from scenario6.run.container import ContainerError
from scenario6.run.model import ResourceModel
from scenario6.run.operations import OperationRefused, Operator

from .guard import COOKIE, Guard, same
from .sessions import frontend_sessions

# Where the dashboard's files go (index.html and its modules); without it, / answers JSON.
DASHBOARD_DIR = Path(__file__).with_name("dashboard")
LOGIN_PAGE = "login.html"  # what a browser without the token is shown


class Run(Protocol):
    """What the API reads and drives: the supervisor, as the API sees it."""

    model: ResourceModel
    operator: Operator
    phase: str  # starting, running or stopping
    app_name: str
    started_at: float

    def request_stop(self) -> None: ...


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def create_api(run: Run, *, port: int, token: str, dashboard: Path = DASHBOARD_DIR) -> Guard:
    """The ASGI app for ``run``, guarded by ``token`` and its own origin."""
    model = run.model

    def app_info() -> dict[str, Any]:
        return {
            "app": run.app_name,
            "pid": os.getpid(),
            "phase": run.phase,
            "started_at": run.started_at,
            "version": model.version,
        }

    async def index(request: Request) -> Response:
        if (dashboard / "index.html").is_file():
            return RedirectResponse("/dashboard/", status_code=303)
        return JSONResponse({**app_info(), "api": "/api/v1"})

    async def login(request: Request) -> Response:
        given = request.query_params.get("t", "")
        if not given or not same(given, token):
            return JSONResponse({"error": "wrong or missing token"}, status_code=401)
        reply = RedirectResponse("/", status_code=303)
        reply.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return reply

    async def info(request: Request) -> Response:
        return JSONResponse(app_info())

    async def resources(request: Request) -> Response:
        views = [view.to_json() for view in model.snapshot()]
        return JSONResponse({"version": model.version, "phase": run.phase, "resources": views})

    def named(request: Request) -> str | JSONResponse:
        name = str(request.path_params["name"])
        if model.get(name) is None:
            known = ", ".join(model.tracked)
            return JSONResponse({"error": f"no resource {name!r} (known: {known})"}, 404)
        return name

    async def resource(request: Request) -> Response:
        name = named(request)
        if isinstance(name, JSONResponse):
            return name
        view = model.get(name)
        assert view is not None
        return JSONResponse(view.to_json())

    async def watch(request: Request) -> Response:
        async def events() -> AsyncIterator[bytes]:
            first = True
            async for version, views in model.watch():
                if first:
                    yield sse(
                        "snapshot", {"version": version, "resources": [v.to_json() for v in views]}
                    )
                    first = False
                else:
                    yield sse("change", {"version": version, "resource": views[0].to_json()})

        return StreamingResponse(events(), media_type="text/event-stream")

    async def logs(request: Request) -> Response:
        name = named(request)
        if isinstance(name, JSONResponse):
            return name
        book = model.logs[name]
        try:
            tail = int(request.query_params.get("tail", "100"))
        except ValueError:
            return JSONResponse({"error": "tail must be a number"}, 400)
        lines = [line.to_json() for line in book.tail(tail if tail >= 0 else None)]
        if request.query_params.get("follow") not in ("1", "true", "yes"):
            return JSONResponse({"resource": name, "lines": lines})
        queue = book.follow()

        async def events() -> AsyncIterator[bytes]:
            try:
                for backlog in lines:
                    yield sse("line", backlog)
                while (line := await queue.get()) is not None:
                    yield sse("line", line.to_json())
            finally:
                book.unfollow(queue)

        return StreamingResponse(events(), media_type="text/event-stream")

    async def command(request: Request) -> Response:
        name = named(request)
        if isinstance(name, JSONResponse):
            return name
        try:
            await run.operator.run(model.tracked[name], str(request.path_params["command"]))
        except OperationRefused as refused:
            return JSONResponse({"error": str(refused)}, 409)
        except ContainerError as error:
            return JSONResponse({"error": str(error)}, 500)
        view = model.get(name)
        assert view is not None
        return JSONResponse(view.to_json())

    async def sessions(request: Request) -> Response:
        return JSONResponse(await frontend_sessions(model))

    async def stop(request: Request) -> Response:
        run.request_stop()
        return JSONResponse({"stopping": True, "pid": os.getpid()}, 202)

    routes: list[BaseRoute] = [
        Route("/", index),
        Route("/login", login),
        Route("/api/v1/app", info),
        Route("/api/v1/resources", resources),
        Route("/api/v1/resources/{name}", resource),
        Route("/api/v1/resources/{name}/logs", logs),
        Route("/api/v1/resources/{name}/{command}", command, methods=["POST"]),
        Route("/api/v1/watch", watch),
        Route("/api/v1/sessions", sessions),
        Route("/api/v1/stop", stop, methods=["POST"]),
    ]
    if dashboard.is_dir():
        routes.append(Mount("/dashboard", StaticFiles(directory=dashboard, html=True)))
    login_page = dashboard / LOGIN_PAGE
    return Guard(
        Starlette(routes=routes),
        port=port,
        token=token,
        login_page=login_page if login_page.is_file() else None,
    )
