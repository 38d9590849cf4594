"""Aspire's resource service of a real ``scenario6 run --dashboard aspire``, read by a client
built from upstream's .proto in the dashboard's order: application, resources and their
changes, console logs, commands; nothing without the API key."""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from scenario6.facts.names import BACKEND, FRONTEND
from scenario6.run.control import state
from tests.run.conftest import ALL_UP, RunCommand
from tests.run.test_run_recovery import NATIVE, native_backend_pid
from tests.support.aspire import Upstream, Watch, with_key
from tests.support.servers import free_port

KNOWN_TYPES = {"Executable", "Project", "Container"}


def _refusal(call: Callable[[], object]) -> grpc.StatusCode:
    """The status ``call`` fails with; a stream fails on its first read."""
    with pytest.raises(grpc.RpcError) as refused:
        result = call()
        if isinstance(result, Iterator):
            next(result)
    return refused.value.code()  # type: ignore[no-any-return, attr-defined]


def _state(resource: object) -> str:
    return str(resource.state)  # type: ignore[attr-defined]


def _prop(resource: object, name: str) -> object:
    for prop in resource.properties:  # type: ignore[attr-defined]
        if prop.name == name:
            return prop.value.number_value or prop.value.string_value
    return None


def test_the_aspire_dashboard_sees_resources_changes_logs_and_restarts(
    workspace: Path, run_command: type[RunCommand], upstream: Upstream
) -> None:
    moshi_port = free_port()
    api_key = secrets.token_urlsafe(16)
    env = {"FRONTEND_PORT": str(free_port()), "MOSHI_PORT": str(moshi_port),
           "SCENARIO6_RESOURCE_SERVICE_KEY": api_key}  # fmt: skip
    run = run_command(workspace, [*NATIVE, "--dashboard", "aspire"], env)
    run.wait_output(ALL_UP, timeout=300)
    assert "Aspire resource service: http://127.0.0.1:" in run.output()
    found = state.read(workspace)
    assert found is not None and found.resource_service.startswith("http://127.0.0.1:")
    key = with_key(api_key)
    channel = grpc.insecure_channel(found.resource_service.removeprefix("http://"))
    stub = upstream.stub(channel)
    request = upstream.pb2

    # Without the key, or with a wrong one, every method is refused.
    info = request.ApplicationInformationRequest()
    assert _refusal(lambda: stub.GetApplicationInformation(info)) == grpc.StatusCode.UNAUTHENTICATED
    assert _refusal(lambda: stub.GetApplicationInformation(info, metadata=with_key("x"))) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    watch_request = request.WatchResourcesRequest()
    assert _refusal(lambda: stub.WatchResources(watch_request)) == grpc.StatusCode.UNAUTHENTICATED
    restart = request.ResourceCommandRequest(
        command_name="resource-restart", resource_name=BACKEND, resource_type="Executable"
    )
    assert _refusal(lambda: stub.ExecuteResourceCommand(restart)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )

    # The dashboard's order: application, then resources and interactions side by side.
    assert stub.GetApplicationInformation(info, metadata=key).application_name
    token = with_key(found.token)  # the run's token opens it too
    assert stub.GetApplicationInformation(info, metadata=token).application_name
    interactions = stub.WatchInteractions
    assert _refusal(lambda: interactions(iter(()), metadata=key)) == (grpc.StatusCode.UNIMPLEMENTED)
    watch = Watch(stub.WatchResources(watch_request, metadata=key))
    first = watch.next()
    assert {r.name for r in first} == {BACKEND, FRONTEND}
    for resource in first:
        assert resource.resource_type in KNOWN_TYPES and resource.display_name and resource.uid
        assert resource.HasField("created_at") and _state(resource) == "Running"
        assert resource.urls, resource.name
        assert all(url.HasField("display_properties") for url in resource.urls)
        assert all(prop.HasField("value") for prop in resource.properties)
        assert {c.name for c in resource.commands} >= {"resource-restart", "resource-stop"}
    urls = {url.full_url for url in watch.latest[BACKEND].urls}
    assert f"ws://127.0.0.1:{moshi_port}/api/chat" in urls
    assert f"http://127.0.0.1:{env['FRONTEND_PORT']}" in {
        url.full_url.rstrip("/") for url in watch.latest[FRONTEND].urls
    }

    # Console logs: the backlog alone, then a follow that sees the restarted backend.
    logs = request.WatchResourceConsoleLogsRequest
    backlog = stub.WatchResourceConsoleLogs(
        logs(resource_name=FRONTEND, suppress_follow=True), metadata=key, timeout=30
    )
    lines = [line for update in backlog for line in update.log_lines]
    assert lines and lines[0].line_number == 1 and any(line.text for line in lines)
    follow = stub.WatchResourceConsoleLogs(logs(resource_name=BACKEND), metadata=key)
    before = len(next(follow).log_lines)

    # Killed, it shows as not running, then running again.
    pid = native_backend_pid(run)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    gone = watch.until(BACKEND, lambda r: _state(r) != "Running", timeout=10)
    print(f"the watch showed the killed backend after {(time.monotonic() - killed) * 1000:.0f} ms")
    assert _state(gone[-1]) in {"Exited", "Starting", "RuntimeUnhealthy"}, gone[-1]
    back = watch.until(BACKEND, lambda r: _state(r) == "Running" and _healthy(r), timeout=60)
    assert _prop(back[-1], "executable.pid") not in (None, pid)

    # The restart command works, and its effect arrives as upserts.
    restarts = _prop(watch.latest[BACKEND], "resource.restartCount")
    asked = time.monotonic()
    reply = stub.ExecuteResourceCommand(restart, metadata=key, timeout=120)
    print(f"resource-restart answered after {(time.monotonic() - asked) * 1000:.0f} ms")
    assert reply.kind == request.RESOURCE_COMMAND_RESPONSE_KIND_SUCCEEDED, reply.error_message
    watch.until(BACKEND, lambda r: _prop(r, "resource.restartCount") == restarts + 1)
    watch.until(BACKEND, lambda r: _state(r) == "Running" and _healthy(r))
    new_lines = next(follow).log_lines
    assert new_lines and new_lines[0].line_number > before
    unknown = request.ResourceCommandRequest(command_name="nope", resource_name=BACKEND)
    failed = stub.ExecuteResourceCommand(unknown, metadata=key)
    assert failed.kind == request.RESOURCE_COMMAND_RESPONSE_KIND_FAILED

    follow.cancel()
    run.interrupt()
    assert run.wait_exit(60) == 0, run.output()
    while watch.updates.get(timeout=10) is not None:  # queue.Empty: the watch never ended
        pass
    channel.close()
    assert run.left_behind() == []
    assert api_key not in run.output()


def _healthy(resource: object) -> bool:
    reports = list(resource.health_reports)  # type: ignore[attr-defined]
    return all(r.HasField("status") and r.status == 0 for r in reports)
