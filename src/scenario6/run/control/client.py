"""The CLI's side of the control API: finds this checkout's run and talks to it."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import state

NO_RUN = "no run in this checkout; start one with scenario6 run --detach"
# How long start, restart and rebuild may take to bring a resource back to health.
READY_TIMEOUT = 180.0


def ready(view: dict[str, Any]) -> bool:
    """Running, and healthy when the resource has health checks."""
    return view["state"] == "running" and view["health"] in ("healthy", "-")


class ControlError(Exception):
    """No run to talk to, or a request it refused; the message is for the user as is."""


COMMAND_TIMEOUT_S = 900.0


class ControlClient:
    """Requests to one run, with its token: ``ControlClient.for_checkout(folder).get(path)``."""

    def __init__(self, run: state.RunState, timeout: float = 30.0) -> None:
        self.run = run
        self.timeout = timeout

    @classmethod
    def for_checkout(cls, app_dir: Path) -> ControlClient:
        found = state.read(app_dir)
        if found is None:
            raise ControlError(NO_RUN)
        return cls(found)

    def _send(self, method: str, path: str, timeout: float | None) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.run.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {self.run.token}", "Accept": "application/json"}
        try:
            connection.request(method, path, headers=headers)
            return connection.getresponse()
        except OSError as error:
            raise ControlError(
                f"the run (pid {self.run.pid}) does not answer on {self.run.url}: {error}"
            ) from None

    def request(self, method: str, path: str, timeout: float | None = None) -> Any:
        reply = self._send(method, path, timeout or self.timeout)
        body = json.loads(reply.read() or b"null")
        if reply.status >= 400:
            raise ControlError(body.get("error", f"HTTP {reply.status}") if body else reply.reason)
        return body

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str) -> Any:
        # A command is answered once it is done, and a rebuild waits for an image build.
        return self.request("POST", path, COMMAND_TIMEOUT_S)

    def wait_ready(self, name: str, view: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Resource ``name``'s view once it is ready, or the last one seen after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not ready(view) and time.monotonic() < deadline:
            time.sleep(0.2)
            view = self.get(f"/api/v1/resources/{name}")
        return view

    def events(self, path: str) -> Iterator[tuple[str, Any]]:
        """(event, data) from a Server-Sent Events stream, until the run ends it."""
        reply = self._send("GET", path, None)
        if reply.status >= 400:
            raise ControlError(json.loads(reply.read() or b"{}").get("error", reply.reason))
        event, data = "message", ""
        for raw in reply:
            line = raw.decode("utf-8").rstrip("\r\n")
            if not line:
                if data:
                    yield event, json.loads(data)
                event, data = "message", ""
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
