"""A detached run with the backend in a container: rebuild and restart it from another shell,
then stop the run with nothing of the session left."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenario6.facts.names import BACKEND
from tests.run.conftest import CONTAINER_BACKEND, ContainerApp
from tests.run.test_detached import Family, scenario6

pytestmark = pytest.mark.docker


def test_backend_container_is_rebuilt_restarted_and_stopped(
    workspace: Path, container_app: ContainerApp, family: Family
) -> None:
    app = container_app
    started = scenario6(workspace, "run", "--detach", *CONTAINER_BACKEND, env=app.env, timeout=900)
    family.note()
    assert started.returncode == 0, started.stdout + started.stderr
    view = json.loads(scenario6(workspace, "describe", BACKEND, "--json").stdout)
    (container_id, *_), *_ = app.containers()
    assert (view["kind"], view["state"], view["health"]) == ("container", "running", "healthy")
    assert view["container_id"] and container_id.startswith(view["container_id"][:12])
    assert view["image"]

    rebuilt = scenario6(workspace, "resource", BACKEND, "rebuild", timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "restarts: 0 → 1" in rebuilt.stdout
    logs = scenario6(workspace, "logs", BACKEND, "--tail", "-1").stdout
    assert "[build]" in logs  # the rebuild's output is the resource's console output

    restarted = scenario6(workspace, "restart", BACKEND, timeout=300)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "restarts: 1 → 2" in restarted.stdout
    assert [c[1:] for c in app.containers()] == [("running", "persistent")]
    family.note()

    stopped = scenario6(workspace, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert family.left_behind() == []
    # As after Ctrl-C: only the persistent backend stays (it keeps its warm model).
    assert [c[1:] for c in app.containers()] == [("running", "persistent")]
