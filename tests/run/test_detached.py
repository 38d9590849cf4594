"""``scenario6 run --detach`` and the commands that follow it from another shell: ps, describe,
logs, restart, stop — and a second run refused, a stale state file cleaned up."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from scenario6.facts.names import BACKEND, FRONTEND
from scenario6.run.control import state
from scenario6.run.control.state import ALREADY_RUNNING
from tests.run.conftest import Family, scenario6
from tests.run.test_run_failures import NATIVE
from tests.support.servers import free_port

EDIT = (
    '\n\n@router.get("/api/detached-edit")\ndef detached_edit() -> dict[str, str]:\n    return {}\n'
)


def test_detached_run_is_seen_and_driven_from_another_shell(
    workspace: Path, family: Family
) -> None:
    env_ports = {"MOSHI_PORT": str(free_port()), "FRONTEND_PORT": str(free_port())}
    started = scenario6(workspace, "run", "--detach", *NATIVE, env=env_ports, timeout=300)
    family.note()
    assert started.returncode == 0, started.stdout + started.stderr
    moshi_port = env_ports["MOSHI_PORT"]
    assert f"ws://127.0.0.1:{moshi_port}/api/chat" in started.stdout
    assert "/login?t=" in started.stdout

    second = scenario6(workspace, "run", *NATIVE)
    assert second.returncode == ALREADY_RUNNING
    assert "already going in this checkout" in second.stderr + second.stdout
    assert "scenario6 stop" in second.stderr + second.stdout

    ps = scenario6(workspace, "ps")
    assert ps.returncode == 0, ps.stderr
    assert f"pid {family.pid}" in ps.stdout and BACKEND in ps.stdout and FRONTEND in ps.stdout

    described = json.loads(scenario6(workspace, "describe", "--json").stdout)
    by_name = {view["name"]: view for view in described}
    assert {by_name[BACKEND]["state"], by_name[FRONTEND]["state"]} == {"running"}
    assert f"ws://127.0.0.1:{moshi_port}/api/chat" in [
        e["url"] for e in by_name[BACKEND]["endpoints"]
    ]

    follower = subprocess.Popen(
        [sys.executable, "-m", "scenario6", "logs", FRONTEND, "-f", "--tail", "0"],
        cwd=workspace, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        time.sleep(0.5)  # let it subscribe; a line printed before would not be new to it
        module = workspace / "src" / "scenario6" / "frontend" / "routes" / "health.py"
        module.write_text(module.read_text() + EDIT)  # the frontend reloads and says so
        assert follower.stdout is not None
        first = follower.stdout.readline()
        assert first.strip(), "logs -f printed nothing new"
    finally:
        follower.kill()
        follower.communicate()

    restarted = scenario6(workspace, "restart", BACKEND)
    assert restarted.returncode == 0, restarted.stderr
    assert "restarts: 0 → 1" in restarted.stdout
    view = json.loads(scenario6(workspace, "describe", BACKEND, "--json").stdout)
    assert (view["state"], view["health"], view["restarts"]) == ("running", "healthy", 1)
    family.note()

    stopped = scenario6(workspace, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert family.left_behind() == []
    after = scenario6(workspace, "ps")
    assert after.returncode == 1
    assert "no run in this checkout; start one with scenario6 run --detach" in after.stderr


def test_a_stale_state_file_is_cleaned_up(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    stale = state.RunState(dead.pid, free_port(), "t", time.time(), "app", str(tmp_path))
    path = state.write(tmp_path, stale)
    (tmp_path / "apphost.py").write_text("")
    shown = scenario6(tmp_path, "ps")
    assert shown.returncode == 1 and "no run in this checkout" in shown.stderr
    assert not path.exists()
