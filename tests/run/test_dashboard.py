"""`scenario6 run --dashboard`'s pieces: the local image, the container, the OTEL_* wiring."""

from __future__ import annotations

import uuid
from pathlib import Path

from scenario6.apphost import (
    Configuration,
    DistributedApplicationBuilder,
    EndpointReference,
    Operation,
)
from scenario6.containers import ContainerRuntime
from scenario6.run import dashboard
from tests.support.appmodel import load_app
from tests.support.docker import docker_cli

DESIGN_VARIABLES = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
}


def test_otel_environment_is_what_aspire_injects() -> None:
    env = dashboard.otel_environment("scenario6-frontend", "http://127.0.0.1:18890", "abc")
    assert set(env) >= DESIGN_VARIABLES
    assert env["OTEL_SERVICE_NAME"] == "scenario6-frontend"
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == "service.instance.id=abc"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert {env[k] for k in DESIGN_VARIABLES if k.endswith("_EXPORTER")} == {"otlp"}
    assert env["OTEL_BSP_SCHEDULE_DELAY"] == "1000"


def test_every_resource_reports_to_the_dashboard(tmp_path: Path) -> None:
    builder = DistributedApplicationBuilder(app_dir=tmp_path, configuration=Configuration())
    web = builder.add_executable("web", "python", ".", ["-m", "http.server"]).with_http_endpoint(1)
    worker = builder.add_container("worker", "busybox").with_environment("OTEL_SERVICE_NAME", "w")
    resources = [web, worker]
    board = dashboard.wire_dashboard(resources, "mcr.microsoft.com/dotnet/aspire-dashboard:9")
    assert resources[-1] is board and board.name == "scenario6-dashboard"
    assert board.endpoints["http"].port == 18888
    assert board.endpoints["otlp-http"].target_port == 18890
    assert board.env["ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS"] == "true"
    target = EndpointReference("scenario6-dashboard", "otlp-http")
    assert web.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == target
    assert web.env["OTEL_SERVICE_NAME"] == "web"
    assert worker.env["OTEL_SERVICE_NAME"] == "w", "explicit settings win"
    assert "OTEL_SERVICE_NAME" not in board.env


def test_image_only_when_present_locally(docker: str, base_image: str) -> None:
    name = f"scenario6-test/aspire-dashboard-{uuid.uuid4().hex[:8]}"
    env = {dashboard.IMAGE_VARIABLE: name}
    assert dashboard.dashboard_image(ContainerRuntime(docker), env) is None
    help_text = dashboard.missing_image_help("docker", env)
    assert f"docker pull {name}:latest" in help_text
    docker_cli("tag", base_image, f"{name}:latest")
    try:
        assert dashboard.dashboard_image(ContainerRuntime(docker), env) == f"{name}:latest"
    finally:
        docker_cli("rmi", f"{name}:latest", check=False)


def test_no_engine_means_no_image(tmp_path: Path) -> None:
    assert dashboard.dashboard_image(ContainerRuntime(str(tmp_path / "no-such-docker"))) is None


def test_url() -> None:
    assert dashboard.dashboard_url() == "http://localhost:18888"


def test_the_app_model_gets_a_dashboard() -> None:
    app = load_app(Operation.RUN, "loopback")
    before = [r.name for r in app.resources]
    board = dashboard.add_dashboard(app, "mcr.microsoft.com/dotnet/aspire-dashboard:latest")
    assert [r.name for r in app.resources] == [*before, board.name]
    frontend = app.resource("scenario6-frontend")
    assert frontend.env["OTEL_SERVICE_NAME"] == "scenario6-frontend"
    assert frontend.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == board.get_endpoint("otlp-http")
    assert board.name in [r.name for r in app.start_order()]
