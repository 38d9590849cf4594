"""A container's command-line arguments and entrypoint are published, not dropped; raw engine
flags, which Compose and Kubernetes cannot express, are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scenario6.apphost import AppModelError, Operation, load_apphost
from scenario6.publish.compose import compose_file
from scenario6.publish.kubernetes import manifests
from scenario6.publish.options import PublishOptions
from scenario6.publish.spec import describe
from tests.support.apphost import write_apphost


def app_with(tmp_path: Path, extra: str) -> Path:
    worker = "builder.add_container('worker', 'example/worker:1')"
    return write_apphost(tmp_path, worker + ".with_args('--queue', 'voice', '--verbose')" + extra)


def test_arguments_and_entrypoint_reach_compose_and_kubernetes(tmp_path: Path) -> None:
    app = load_apphost(app_with(tmp_path, ".with_entrypoint('/bin/worker')"), Operation.PUBLISH)
    services = describe(app)
    options = PublishOptions(https=False)
    compose = yaml.safe_load(compose_file("args", services, options, tmp_path))
    worker = compose["services"]["worker"]
    assert (worker["entrypoint"], worker["command"]) == (
        ["/bin/worker"], ["--queue", "voice", "--verbose"],
    )  # fmt: skip
    workload = yaml.safe_load(manifests("args", services, options)["worker-deployment.yaml"])
    [container] = workload["spec"]["template"]["spec"]["containers"]
    assert (container["command"], container["args"]) == (
        ["/bin/worker"], ["--queue", "voice", "--verbose"],
    )  # fmt: skip


def test_raw_engine_flags_are_refused_by_name(tmp_path: Path) -> None:
    path = app_with(tmp_path, ".with_container_runtime_args(['--shm-size=2g'])")
    with pytest.raises(AppModelError, match=r"worker.*runtime_args.*--shm-size=2g"):
        describe(load_apphost(path, Operation.PUBLISH))
