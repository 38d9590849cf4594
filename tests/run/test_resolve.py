"""Run-mode resolution: endpoints become local URLs; the token reaches the backend only."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.apphost import (
    Configuration,
    ContainerResource,
    Operation,
    ParameterResolver,
)
from scenario6.containers import ContainerRuntime
from scenario6.facts import contract
from scenario6.facts.stack import FrontendPlacement
from scenario6.run.container import ContainerRunner
from scenario6.run.resolve import RunResolver
from tests.support.appmodel import load_app

REPO = Path(__file__).resolve().parents[2]
TOKEN = "hf_secret_for_tests_42"


def resolver_for(
    backend: str, runtime: ContainerRuntime, frontend: FrontendPlacement = "python"
) -> RunResolver:
    ports = {"MOSHI_PORT": "18998", "FRONTEND_PORT": "18010"}
    app = load_app(Operation.RUN, backend, ports, frontend=frontend)
    parameters = ParameterResolver(Configuration(environ={"HF_TOKEN": TOKEN}), prompt=None)
    return RunResolver(app, parameters, runtime)


@pytest.mark.parametrize(
    ("runtime", "gpu_args"),
    [
        (ContainerRuntime("/usr/bin/docker", "host"), ["--gpus=all"]),
        (ContainerRuntime("/usr/bin/podman", "host"), ["--device", "nvidia.com/gpu=all"]),
    ],
)
def test_personaplex_container_gets_the_token_out_of_band(
    runtime: ContainerRuntime, gpu_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    resolver = resolver_for("personaplex", runtime)
    moshi = resolver.app.resource("scenario6-moshi")
    assert isinstance(moshi, ContainerResource)
    args, secret, spec_hash = ContainerRunner(moshi, runtime, resolver, print).run_spec("sha256:1")

    assert secret == {"HF_TOKEN": TOKEN}
    assert TOKEN not in " ".join(args)  # `-e HF_TOKEN` only: the value is not on a command line
    assert args[args.index("HF_TOKEN") - 1] == "-e"
    assert "MOSHI_PORT=18998" in args and "--network" in args
    assert " ".join(gpu_args) in " ".join(args)
    assert f"{contract.CACHE_VOLUME}:{contract.HF_HOME}" in args
    assert len(spec_hash) == 16
    assert TOKEN not in spec_hash

    frontend = resolver.app.resource("scenario6-frontend")
    env = resolver.native_environment(frontend)
    assert "HF_TOKEN" not in env  # withheld even though this process has it
    assert env["MOSHI_WS_URL"] == "http://127.0.0.1:18998"
    assert env["APP_PORT"] == "18010"


def test_spec_hash_changes_with_the_image_and_the_configuration() -> None:
    runtime = ContainerRuntime("/usr/bin/docker", "host")
    resolver = resolver_for("loopback", runtime)
    moshi = resolver.app.resource("scenario6-moshi")
    assert isinstance(moshi, ContainerResource)
    runner = ContainerRunner(moshi, runtime, resolver, print)
    first = runner.run_spec("sha256:1")[2]
    assert runner.run_spec("sha256:1")[2] == first
    assert runner.run_spec("sha256:2")[2] != first
    moshi.with_environment("EXTRA", "1")
    assert runner.run_spec("sha256:1")[2] != first


def test_on_a_bridge_containers_reach_each_other_by_resource_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The name the backend's certificate carries, as in Compose, not the container's own name.
    runtime = ContainerRuntime("/usr/bin/docker", None)
    resolver = resolver_for("loopback", runtime, frontend="docker")
    moshi, frontend = (resolver.app.resource(n) for n in ("scenario6-moshi", "scenario6-frontend"))
    assert isinstance(moshi, ContainerResource) and isinstance(frontend, ContainerResource)
    args = ContainerRunner(moshi, runtime, resolver, print).run_spec("sha256:1")[0]
    assert args[args.index("--network-alias") + 1] == "scenario6-moshi"
    assert "127.0.0.1:18998:8998" in args
    plain, _ = resolver.environment(frontend)
    assert plain["MOSHI_WS_URL"] == "http://scenario6-moshi:8998"
