"""VS Code's launch configurations give the frontend what `scenario6 run` gives it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenario6.apphost import EndpointReference, Operation
from scenario6.debug import DEFAULT_PORT
from tests.support.appmodel import load_app

REPO = Path(__file__).resolve().parents[2]


def _configs() -> dict[str, dict[str, Any]]:
    launch = json.loads((REPO / ".vscode" / "launch.json").read_text())
    return {c["name"]: c for c in launch["configurations"]}


def test_launch_environment_matches_run_mode() -> None:
    app = load_app(Operation.RUN, "loopback")
    frontend = app.resource("scenario6-frontend")
    moshi_ref = frontend.env["MOSHI_WS_URL"]
    assert isinstance(moshi_ref, EndpointReference)
    moshi = app.resource(moshi_ref.resource).endpoints[moshi_ref.endpoint]
    expected = {
        "APP_HOST": frontend.env["APP_HOST"],
        "APP_PORT": str(frontend.endpoints["http"].port),
        "MOSHI_WS_URL": f"ws://127.0.0.1:{moshi.host_port}/api/chat",
        "PYTHONUNBUFFERED": frontend.env["PYTHONUNBUFFERED"],
    }
    launches = [c for c in _configs().values() if c["request"] == "launch"]
    frontends = [c for c in launches if c.get("args", [])[:1] == ["frontend"]]
    assert len(frontends) == 2
    for config in frontends:
        assert config["env"] == expected, config["name"]
        assert "HF_TOKEN" not in json.dumps(config) and "envFile" not in config


def test_debugpy_task_serves_what_the_attach_configuration_expects() -> None:
    tasks = json.loads((REPO / ".vscode" / "tasks.json").read_text())
    [task] = [t for t in tasks["tasks"] if t["label"] == "scenario6: frontend under debugpy"]
    launch = _configs()["Frontend (debug; backend on 8998)"]
    assert task["options"]["env"] == launch["env"]
    assert task["args"][:3] == ["-m", "scenario6.debug", "--listen"]
    host, port = task["args"][3].split(":")
    attach = _configs()["Attach to the frontend (debugpy on 5678)"]
    assert attach["connect"] == {"host": host, "port": int(port)}


def test_attach_port_is_the_debug_wrapper_default() -> None:
    attach = _configs()["Attach to the frontend (debugpy on 5678)"]
    assert attach["connect"] == {"host": "127.0.0.1", "port": DEFAULT_PORT}


def test_pre_launch_tasks_exist() -> None:
    tasks = json.loads((REPO / ".vscode" / "tasks.json").read_text())
    labels = {t["label"] for t in tasks["tasks"]}
    for config in _configs().values():
        if "preLaunchTask" in config:
            assert config["preLaunchTask"] in labels
