"""The Aspire dashboard as a run-mode resource, and the OTEL_* variables that feed it.

``add_dashboard(app, image)`` puts ``dashboard_container(image)`` into a loaded app model and
gives every other resource ``otel_environment(...)``, like an Aspire AppHost does in run
mode. The image is used only when it is already present locally: nothing is pulled behind
the user's back.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Mapping

from scenario6.apphost import (
    ContainerResource,
    DistributedApplication,
    EnvValue,
    Parameter,
    Resource,
)
from scenario6.containers import ContainerRuntime

NAME = "scenario6-dashboard"
IMAGE = "mcr.microsoft.com/dotnet/aspire-dashboard"
IMAGE_VARIABLE = "SCENARIO6_DASHBOARD_IMAGE"
UI_PORT = 18888
OTLP_GRPC_PORT = 18889
OTLP_HTTP_PORT = 18890
OTLP_HTTP_ENDPOINT = "otlp-http"
# The API key the dashboard sends to our resource service (a new one per run by default).
KEY_VARIABLE = "SCENARIO6_RESOURCE_SERVICE_KEY"


def dashboard_url(host: str = "localhost") -> str:
    return f"http://{host}:{UI_PORT}"


def wanted_image(env: Mapping[str, str] | None = None) -> str:
    return (os.environ if env is None else env).get(IMAGE_VARIABLE) or IMAGE


def dashboard_image(runtime: ContainerRuntime, env: Mapping[str, str] | None = None) -> str | None:
    """The dashboard image as present locally (``repo:tag``), or None when it is not."""
    wanted = wanted_image(env)
    reference = wanted if ":" in wanted.rsplit("/", 1)[-1] else f"{wanted}:*"
    try:
        listed = runtime.run(
            "images",
            "--filter",
            f"reference={reference}",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    tags = [line for line in listed.stdout.split() if not line.endswith(":<none>")]
    if listed.returncode != 0 or not tags:
        return None
    return f"{wanted}:latest" if f"{wanted}:latest" in tags else tags[0]


def missing_image_help(cli: str = "docker", env: Mapping[str, str] | None = None) -> str:
    image = wanted_image(env)
    return (
        f"The dashboard image {image} is not present locally, so no dashboard was started.\n"
        f"Get it with `{cli} pull {image}:latest` (or `{cli} load -i aspire-dashboard.tar` "
        f"saved on a machine that can pull), or name another local image with {IMAGE_VARIABLE}."
    )


def dashboard_container(image: str) -> ContainerResource:
    """The dashboard: UI on 18888, OTLP/gRPC on 18889, OTLP/HTTP on 18890; no login locally."""
    resource = (
        ContainerResource(NAME, image)
        .with_http_endpoint(port=UI_PORT, target_port=UI_PORT)
        .with_endpoint(
            name="otlp-grpc", scheme="http", port=OTLP_GRPC_PORT, target_port=OTLP_GRPC_PORT
        )
        .with_endpoint(
            name=OTLP_HTTP_ENDPOINT, scheme="http", port=OTLP_HTTP_PORT, target_port=OTLP_HTTP_PORT
        )
        .with_http_health_check("/")
    )
    # Development only: the dashboard listens on this machine and shows only this app.
    for name in (
        "ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS",
        "DOTNET_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS",  # its name before Aspire 9
    ):
        resource.with_environment(name, "true")
    return resource


def otel_environment(
    service_name: str, endpoint: EnvValue, instance_id: str | None = None
) -> dict[str, EnvValue]:
    """The variables Aspire gives each resource in run mode, for OTLP over HTTP.

    ``endpoint`` is usually ``dashboard.get_endpoint("otlp-http")``, so that whoever runs the
    resource resolves the address as seen from it (process or container).
    """
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_RESOURCE_ATTRIBUTES": f"service.instance.id={instance_id or uuid.uuid4().hex[:12]}",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        # Development: see data within a second rather than the SDK defaults (5 s, 60 s).
        "OTEL_BSP_SCHEDULE_DELAY": "1000",
        "OTEL_BLRP_SCHEDULE_DELAY": "1000",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
    }


def wire_dashboard(resources: list[Resource], image: str) -> ContainerResource:
    """Add the dashboard to ``resources`` and point every other resource's telemetry at it."""
    dashboard = dashboard_container(image)
    endpoint = dashboard.get_endpoint(OTLP_HTTP_ENDPOINT)
    for resource in resources:
        for key, value in otel_environment(resource.name, endpoint).items():
            resource.env.setdefault(key, value)
    resources.append(dashboard)
    return dashboard


def resource_service_key(default: str) -> Parameter:
    """The key as a secret parameter: the dashboard gets it in its environment, never argv."""
    return Parameter("resource-service-key", secret=True, default=default, env=KEY_VARIABLE)


def feed_resources(dashboard: ContainerResource, port: int, key: Parameter, host: str) -> None:
    """Point ``dashboard`` at our resource service on ``host:port`` (h2c), in ApiKey mode;
    ``host`` is how the container reaches this machine."""
    dashboard.with_environment("Dashboard__ResourceServiceClient__Url", f"http://{host}:{port}")
    dashboard.with_environment("Dashboard__ResourceServiceClient__AuthMode", "ApiKey")
    dashboard.with_environment("Dashboard__ResourceServiceClient__ApiKey", key)


def add_dashboard(app: DistributedApplication, image: str) -> ContainerResource:
    """``wire_dashboard`` for a loaded app model (what ``scenario6 run --dashboard`` calls)."""
    resources = list(app.resources)
    dashboard = wire_dashboard(resources, image)
    app.resources = tuple(resources)
    return dashboard
