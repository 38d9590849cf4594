"""One detection (SCENARIO6_CONTAINER_RUNTIME, else docker, else podman), one build command,
and one set of fixes that `scenario6 run` and `scenario6 doctor` both show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scenario6.apphost import Configuration, DockerBuild
from scenario6.containers import ContainerRuntime, RuntimeUnavailable, build_command
from scenario6.containers.engine import NO_ENGINE_FIX, NVIDIA_FIX, START_FIX
from scenario6.doctor import Context, Status
from scenario6.doctor.containers import check_engine, check_nvidia_runtime
from scenario6.run.choice import ChoiceError, choose
from tests.conftest import require_tool
from tests.containers.conftest import Engines


def test_docker_is_preferred_podman_taken_when_alone_and_the_variable_wins(
    engines: Engines,
) -> None:
    engines.add("podman")
    assert ContainerRuntime.detect(engines.env()).name == "podman"
    engines.add("docker")
    assert ContainerRuntime.detect(engines.env()).name == "docker"
    chosen = ContainerRuntime.detect(engines.env(SCENARIO6_CONTAINER_RUNTIME="podman"))
    assert chosen.is_podman and chosen.cli == str(engines.folder / "podman")
    bridge = ContainerRuntime.detect(engines.env(SCENARIO6_CONTAINER_NETWORK="host"))
    assert bridge.host_network


def test_the_build_command_for_docker_and_podman(tmp_path: Path) -> None:
    build = DockerBuild(
        tmp_path, tmp_path / "moshi" / "Dockerfile", "loopback", (("BASE_IMAGE", "base:1"),)
    )
    for cli in ("/usr/bin/docker", "/usr/bin/podman"):
        argv = build_command(ContainerRuntime(cli), "app:1", build, host_network=True)
        assert argv == [
            cli, "build", "-t", "app:1", "-f", str(tmp_path / "moshi" / "Dockerfile"),
            "--network", "host", "--target", "loopback", "--build-arg", "BASE_IMAGE=base:1",
            str(tmp_path),
        ]  # fmt: skip
    bridge = build_command(ContainerRuntime("/usr/bin/podman"), "app:1", build, host_network=False)
    assert "--network" not in bridge


def test_no_engine_is_worded_alike_by_run_and_doctor(
    tmp_path: Path, engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    doctor = check_engine(Context(tmp_path, engines.env()))
    assert doctor.status is Status.FAIL
    assert (doctor.summary, doctor.fix) == ("neither docker nor podman is on PATH", NO_ENGINE_FIX)
    monkeypatch.setenv("PATH", str(engines.folder))
    monkeypatch.delenv("SCENARIO6_CONTAINER_RUNTIME", raising=False)
    with pytest.raises(ChoiceError) as refused:
        choose("loopback", "container", "python", Configuration(environ={}))
    assert doctor.summary in str(refused.value) and doctor.fix in str(refused.value)


def test_an_engine_that_does_not_answer_is_worded_alike(tmp_path: Path, engines: Engines) -> None:
    failing = 'echo "Error: unable to connect to Podman socket" >&2; exit 125'
    engines.add("podman", f"#!/bin/sh\n{failing}\n")
    env = engines.env(CONTAINER_HOST="unix:///nowhere.sock")
    doctor = check_engine(Context(tmp_path, env))
    with pytest.raises(RuntimeUnavailable) as run:
        ContainerRuntime.detect(env).check_engine()
    assert (doctor.summary, doctor.fix) == (run.value.problem, run.value.fix)
    assert doctor.fix == START_FIX["podman"]
    assert "not reachable at unix:///nowhere.sock: Error: unable to connect" in doctor.summary


def test_no_gpu_for_containers_is_worded_alike(
    tmp_path: Path, only_stand_ins: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scenario6.containers.engine.CDI_DIRS", (str(tmp_path / "no-cdi"),))
    only_stand_ins("podman")
    doctor = check_nvidia_runtime(Context(tmp_path))
    assert doctor.status is Status.FAIL and doctor.fix == NVIDIA_FIX
    assert doctor.summary == "podman has no NVIDIA runtime and no CDI spec for nvidia.com/gpu"
    with pytest.raises(ChoiceError) as refused:
        choose("personaplex", None, "python", Configuration(environ={"HF_TOKEN": "x"}))
    assert doctor.summary in str(refused.value) and NVIDIA_FIX in str(refused.value)


def test_run_mode_drives_podman_when_it_is_the_engine(
    only_stand_ins: Callable[..., None],
) -> None:
    only_stand_ins("podman")
    choice = choose("loopback", "container", "python", Configuration(environ={}))
    assert choice.runtime is not None and choice.runtime.name == "podman"
    assert choice.runtime.gpu_args() == ["--device", "nvidia.com/gpu=all"]


def test_an_engine_cli_that_cannot_run_is_a_finding_not_a_crash(
    tmp_path: Path, engines: Engines
) -> None:
    broken = engines.add("docker", "#!/no/such/interpreter\n")  # on PATH, not runnable
    doctor = check_engine(Context(tmp_path, engines.env()))
    assert doctor.status is Status.FAIL
    assert f"{broken} could not be run" in doctor.summary
    assert ContainerRuntime(str(broken), env=engines.env()).nvidia_support() == []


def test_a_docker_that_is_podman_gets_podmans_flags(engines: Engines, tmp_path: Path) -> None:
    """Podman's Docker-compatible ``docker``, a script that runs podman or a link to it, is
    driven as Podman (its GPU flag, its engine check), whatever it is called."""
    podman = require_tool("podman")
    engines.add("docker", f'#!/bin/sh\nexec {podman} "$@"\n')
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "docker").symlink_to(podman)
    for folder in (engines.folder, linked):
        runtime = ContainerRuntime.detect({"PATH": str(folder)})
        assert runtime.name == "docker" and runtime.is_podman, folder
        assert runtime.gpu_args() == ["--device", "nvidia.com/gpu=all"]


def test_a_podman_that_is_docker_gets_dockers_flags(tmp_path: Path) -> None:
    docker = require_tool("docker")
    (tmp_path / "podman").symlink_to(docker)
    runtime = ContainerRuntime.detect({"PATH": str(tmp_path)})
    assert runtime.name == "podman" and not runtime.is_podman
    assert runtime.gpu_args() == ["--gpus=all"]


def test_the_cli_is_asked_what_it_is_once(engines: Engines) -> None:
    engines.add("podman")
    runtime = ContainerRuntime.detect(engines.env())
    assert runtime.is_podman and runtime.gpu_args() == ["--device", "nvidia.com/gpu=all"]
    runtime.engine_version()
    runtime.nvidia_support()
    assert [call for call in engines.calls() if call[1:] == ["--version"]] == [
        ["podman", "--version"]
    ]
