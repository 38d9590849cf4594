"""Secrets reach only the children the app model hands them to, read from /proc/<pid>/environ."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import pytest

from scenario6.apphost import Configuration, Operation, ParameterResolver, load_apphost
from scenario6.bench.harness import free_port
from scenario6.containers import ContainerRuntime
from scenario6.run.printer import Printer
from scenario6.run.supervisor import Supervisor
from tests.run.conftest import ALL_UP, RunCommand, descendants
from tests.run.test_run_failures import NATIVE
from tests.support.apphost import write_apphost


def environments(run: RunCommand) -> dict[int, tuple[str, dict[str, str]]]:
    """pid → (command line, environment) of every live process the run started."""
    found = {}
    for pid, command in descendants(run.popen.pid).items():
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:  # gone meanwhile
            continue
        pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
        found[pid] = (command, {k.decode(): v.decode(errors="replace") for k, _, v in pairs})
    return found


def holders(run: RunCommand, value: str) -> list[str]:
    """Command lines of the run's children whose environment holds ``value``, under any name."""
    return [cmd for cmd, env in environments(run).values() if value in env.values()]


def test_the_token_reaches_no_child_of_a_native_loopback_run(
    workspace: Path, run_command: type[RunCommand]
) -> None:
    token = f"hf_{uuid.uuid4().hex}"
    legacy = f"hf_{uuid.uuid4().hex}"
    env = {
        "HF_TOKEN": token,
        "HUGGING_FACE_HUB_TOKEN": legacy,
        "MOSHI_PORT": str(free_port()),
        "FRONTEND_PORT": str(free_port()),
    }
    run = run_command(workspace, NATIVE, env)
    run.wait_output(ALL_UP, timeout=300)
    children = environments(run)
    commands = " ".join(command for command, _ in children.values())
    # Both resources are native children here: the frontend under uvicorn, the loopback backend.
    assert "scenario6.frontend" in commands and "loopback" in commands, commands
    assert holders(run, token) == [] and holders(run, legacy) == []
    assert all("PATH" in environment for _, environment in children.values())
    run.interrupt()
    assert run.wait_exit(60) == 0, run.output()
    assert token not in run.output()


def test_a_declared_secret_reaches_only_the_child_given_it(
    tmp_path: Path, run_command: type[RunCommand]
) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    sleeper = "import time; print('READY', flush=True); time.sleep(600)"
    apphost = write_apphost(
        tmp_path,
        f"""
key = builder.add_parameter("api-key", secret=True)
builder.add_executable("given", sys.executable, ".", ["-c", {sleeper!r}, "given"]).with_environment(
    "API_KEY", key
)
builder.add_executable("other", sys.executable, ".", ["-c", {sleeper!r}, "other"])""",
    )
    run = run_command(tmp_path, ["--apphost", str(apphost), *NATIVE], {"API_KEY": secret})
    run.wait_output(ALL_UP, timeout=60)
    holding = holders(run, secret)
    assert len(holding) == 1 and holding[0].strip().endswith(" given"), holding
    others = [cmd for cmd, _ in environments(run).values() if cmd.strip().endswith(" other")]
    assert others, "the other child is running"
    run.interrupt()
    assert run.wait_exit(30) == 0, run.output()
    assert secret not in run.output()
    assert os.environ.get("API_KEY") is None  # the test's own environment is untouched


def test_a_declared_secret_reaches_no_installer_even_of_the_child_given_it(
    tmp_path: Path, run_command: type[RunCommand]
) -> None:
    """The installer is short-lived: it writes down the environment it got, then exits."""
    secret = f"s3cret-{uuid.uuid4().hex}"
    bin_dir, dump = tmp_path / "bin", tmp_path / "installer-environment"
    bin_dir.mkdir()
    uv = bin_dir / "uv"  # stands in for uv: `uv sync` is the installer the app model asks for
    uv.write_text(f"#!/bin/sh\nenv > {dump}\n")
    uv.chmod(0o755)
    (tmp_path / "sleeper.py").write_text(
        "import time; print('READY', flush=True); time.sleep(600)\n"
    )
    apphost = write_apphost(
        tmp_path,
        """
key = builder.add_parameter("api-key", secret=True)
builder.add_python_script("web", ".", "sleeper.py").with_uv().with_environment("API_KEY", key)""",
    )
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    run = run_command(
        tmp_path, ["--apphost", str(apphost), *NATIVE], {"API_KEY": secret, "PATH": path}
    )
    run.wait_output(ALL_UP, timeout=120)
    assert len(holders(run, secret)) == 1  # the app itself has it
    installer = dump.read_text()
    assert "UV_PROJECT_ENVIRONMENT=" in installer and "PATH=" in installer
    assert secret not in installer and "API_KEY=" not in installer
    run.interrupt()
    assert run.wait_exit(30) == 0, run.output()


def test_the_container_cli_gets_no_declared_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`docker info` and the like: a stand-in CLI, handed to the supervisor as the detected
    engine, answers with the environment it got."""
    secret = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("API_KEY", secret)
    monkeypatch.setenv("HF_TOKEN", f"hf_{uuid.uuid4().hex}")
    cli = tmp_path / "docker"
    cli.write_text("#!/bin/sh\nenv\n")
    cli.chmod(0o755)
    apphost = write_apphost(
        tmp_path,
        """
key = builder.add_parameter("api-key", secret=True)
builder.add_container("box", "example/box").with_environment("API_KEY", key)""",
    )
    engine = Supervisor(
        load_apphost(apphost, Operation.RUN),
        runtime=ContainerRuntime(str(cli)),
        parameters=ParameterResolver(Configuration(environ={}), prompt=None),
        printer=Printer(io.StringIO()),
    )
    assert engine.runtime is not None
    answer = engine.runtime.run("info").stdout
    assert "PATH=" in answer and "API_KEY" not in answer and "HF_TOKEN" not in answer
