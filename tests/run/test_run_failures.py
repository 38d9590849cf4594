"""``scenario6 run`` when things go wrong: each failure names its cause and exits non-zero."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

from tests.conftest import require_tool
from tests.run.conftest import RunCommand
from tests.support.apphost import write_apphost
from tests.support.servers import HOST, free_port

NATIVE = ["--backend", "loopback", "--backend-runtime", "native"]


def test_unreachable_engine_is_a_clear_error(tmp_path: Path, run_command: type[RunCommand]) -> None:
    require_tool("docker")
    dead = f"unix://{tmp_path}/no-engine-{uuid.uuid4().hex[:6]}.sock"
    run = run_command(
        tmp_path, ["--apphost", str(write_apphost(tmp_path, "")), "--backend", "loopback",
                   "--backend-runtime", "container"], {"DOCKER_HOST": dead},
    )  # fmt: skip
    assert run.wait_exit(60) == 1
    assert f"not running or not reachable at {dead}" in run.output()


def test_taken_frontend_port_is_a_clear_error(
    workspace: Path, run_command: type[RunCommand]
) -> None:
    frontend_port = free_port()
    with socket.socket() as squatter:
        squatter.bind((HOST, frontend_port))
        squatter.listen()
        env = {"MOSHI_PORT": str(free_port()), "FRONTEND_PORT": str(frontend_port)}
        run = run_command(workspace, NATIVE, env)
        assert run.wait_exit(120) == 1, run.output()
    output = run.output()
    # The doctor's checks run first: nothing is started, and the fix is named.
    assert f"in use: {frontend_port} (frontend)" in output
    assert "FRONTEND_PORT / MOSHI_PORT" in output
    assert "scenario6-moshi" not in output
    assert run.left_behind() == []


def test_backend_never_healthy_times_out_naming_it(
    tmp_path: Path, run_command: type[RunCommand]
) -> None:
    port = free_port()
    apphost = write_apphost(
        tmp_path,
        f"""
never = builder.add_executable(
    "never-healthy", sys.executable, ".",
    ["-c", "import time; print('still warming up', flush=True); time.sleep(600)"],
).with_http_endpoint(port={port}).with_http_health_check("/health")
builder.add_executable("dependent", sys.executable, ".", ["-c", "print('STARTED')"]).wait_for(
    never
)""",
    )
    run = run_command(tmp_path, ["--apphost", str(apphost), *NATIVE, "--timeout", "2"], {})
    assert run.wait_exit(60) == 1
    output = run.output()
    assert (
        f"never-healthy did not become healthy at http://127.0.0.1:{port}/health within 2 s"
        in output
    )
    assert "still warming up" in output.split("did not become healthy", 1)[1]  # its last lines
    assert "STARTED" not in output  # the dependent never started
    assert run.left_behind() == []


def test_bad_apphost_configuration_names_the_field(
    tmp_path: Path, run_command: type[RunCommand]
) -> None:
    apphost = write_apphost(
        tmp_path,
        'builder.add_executable("web", sys.executable, ".").with_http_endpoint(port=70000)',
    )
    run = run_command(tmp_path, ["--apphost", str(apphost), *NATIVE], {})
    assert run.wait_exit(60) == 2
    assert "resource 'web', field 'port': 70000 is not a port" in run.output()


def test_crashed_process_is_reported_and_restarted(
    tmp_path: Path, run_command: type[RunCommand]
) -> None:
    apphost = write_apphost(
        tmp_path,
        'builder.add_executable("crashy", sys.executable, ".", ["-c", '
        "\"import time; print('about to fail', flush=True); time.sleep(1); raise SystemExit(3)\"])",
    )
    run = run_command(tmp_path, ["--apphost", str(apphost), *NATIVE], {})
    run.wait_output("about to fail", count=2)
    output = run.output()
    assert "crashy exited with code 3; last output:" in output
    assert "restarting crashy" in output
    run.interrupt()
    assert run.wait_exit(30) == 0
    assert run.left_behind() == []


def test_second_interrupt_forces_a_stubborn_child(
    tmp_path: Path, run_command: type[RunCommand]
) -> None:
    apphost = write_apphost(
        tmp_path,
        'builder.add_executable("stubborn", sys.executable, ".", ["-c", '
        '"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); '
        "print('ignoring SIGTERM', flush=True); time.sleep(600)\"])",
    )
    run = run_command(tmp_path, ["--apphost", str(apphost), *NATIVE], {})
    run.wait_output("all resources are up")
    run.interrupt()
    run.wait_output("stopping")
    run.interrupt()
    assert run.wait_exit(30) == 0
    assert "second interrupt: killing everything now" in run.output()
    assert run.left_behind() == []


def test_unfetchable_base_image_names_the_way_out(
    workspace: Path, run_command: type[RunCommand], docker: str
) -> None:
    """Without registry access the default base cannot be pulled: say what to do instead."""
    env = {
        "SCENARIO6_CONTAINER_NETWORK": "host",
        "SCENARIO6_BASE_IMAGE": f"scenario6-test-missing-{uuid.uuid4().hex[:8]}:none",
        "MOSHI_PORT": str(free_port()),
        "FRONTEND_PORT": str(free_port()),
    }
    args = ["--backend", "loopback", "--backend-runtime", "container"]
    run = run_command(workspace, args, env)
    assert run.wait_exit(300) == 1, run.output()
    output = run.output()
    assert "building scenario6-moshi:loopback for scenario6-moshi failed" in output
    assert "SCENARIO6_BASE_IMAGE" in output
    assert "--backend-runtime native" in output
    assert run.left_behind() == []


def test_bad_setting_value_is_named_not_a_traceback(
    workspace: Path, run_command: type[RunCommand]
) -> None:
    run = run_command(workspace, [], {"USE_GPU": "maybe"})
    assert run.wait_exit(60) == 2, run.output()
    output = run.output()
    assert "USE_GPU" in output
    assert "Traceback" not in output
