"""The deployment description both publishers render: services, their settings and links.

``describe(app)`` turns a publish-mode app model into :class:`Service` objects. References
between resources become addresses on the deployment's own network (the service name and
the port the process listens on); parameters become placeholders, never values.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from scenario6.apphost import (
    AppModelError,
    ContainerResource,
    DistributedApplication,
    DockerBuild,
    Endpoint,
    EndpointProperty,
    EndpointReference,
    EnvValue,
    Parameter,
    Resource,
)


@dataclass(frozen=True)
class Placeholder:
    """A parameter's value, supplied where the files are used (``.env``, a Secret)."""

    parameter: Parameter

    @property
    def env_name(self) -> str:
        return self.parameter.env_name


Value = str | Placeholder


@dataclass(frozen=True)
class Port:
    name: str
    scheme: str
    target: int
    published: int | None = None


@dataclass(frozen=True)
class Mount:
    """A named volume (or, with ``source``, a folder beside the published files)."""

    name: str
    target: str
    read_only: bool = False
    source: str | None = None


@dataclass
class Health:
    """How to tell the service is up: an HTTP path on a port that answers ``status``, checked
    by a command (``argv``) where the image has its own probe."""

    port: int
    scheme: str = "http"
    path: str = "/health"
    status: int = 200
    ready_path: str | None = None  # readiness, where it differs from liveness (``path``)
    argv: tuple[str, ...] | None = None
    port_env: str | None = None
    start_period_s: int = 30
    interval_s: int = 10
    timeout_s: int = 5
    retries: int = 3


@dataclass
class Service:
    name: str
    image: str
    build: DockerBuild | None
    env: dict[str, Value] = field(default_factory=dict)
    ports: list[Port] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    health: Health | None = None
    gpus: bool = False
    depends_on: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    startup_timeout_s: float | None = None
    stop_grace_s: int | None = None  # from SIGTERM to SIGKILL; None: the orchestrator's default
    entrypoint: str | None = None
    args: list[str] = field(default_factory=list)  # after the image's (or entrypoint's) command
    replicas: int = 1
    # The variable a Compose user sets to pick another image (one we do not build).
    image_env: str | None = None

    @property
    def compose_names(self) -> list[str]:
        """The Compose services it runs as: itself, or one per replica (``NAME-1`` …)."""
        if self.replicas == 1:
            return [self.name]
        return [f"{self.name}-{n}" for n in range(1, self.replicas + 1)]

    @property
    def parameters(self) -> list[Parameter]:
        return [v.parameter for v in self.env.values() if isinstance(v, Placeholder)]


def describe(app: DistributedApplication) -> dict[str, Service]:
    """Every resource of ``app`` as a service, in start order."""
    if not app.execution_context.is_publish_mode:
        raise AppModelError("the app model was not built in publish mode")
    resources = {r.name: r for r in app.resources}
    services: dict[str, Service] = {}
    for resource in app.start_order():
        if not isinstance(resource, ContainerResource):
            raise AppModelError(
                f"a {resource.kind} resource cannot be published: only containers can",
                resource=resource.name,
            )
        services[resource.name] = _service(resource, resources)
    return services


def _service(resource: ContainerResource, resources: dict[str, Resource]) -> Service:
    if resource.runtime_args:
        raise AppModelError(
            f"runtime arguments {resource.runtime_args} cannot be published: Compose and "
            "Kubernetes have no equivalent for raw engine flags",
            resource=resource.name,
            field="runtime_args",
        )
    service = Service(
        resource.name,
        resource.image,
        resource.build,
        depends_on=list(resource.waits),
        entrypoint=resource.entrypoint,
        args=list(resource.args),
    )
    for endpoint in resource.endpoints.values():
        if endpoint.env is not None:
            service.env[endpoint.env] = str(_listen_port(resource.name, endpoint))
    for key, value in resource.env.items():
        service.env[key] = resolve(value, resources)
    service.ports = [
        Port(e.name, e.scheme, _listen_port(resource.name, e), e.host_port)
        for e in resource.endpoints.values()
    ]
    for volume in resource.volumes:
        if volume.name is None:
            raise AppModelError(
                "bind mounts cannot be published: use a named volume",
                resource=resource.name,
                field="volume",
            )
        service.mounts.append(Mount(volume.name, volume.target, volume.read_only))
    for check in resource.health_checks[:1]:
        endpoint = resource.endpoints[check.endpoint]
        port = _listen_port(resource.name, endpoint)
        service.health = Health(
            port, endpoint.scheme, check.path, check.status, port_env=endpoint.env
        )
    service.gpus = resource.gpus
    service.startup_timeout_s = resource.startup_timeout
    if service.health is not None and resource.startup_timeout is not None:
        service.health.start_period_s = int(resource.startup_timeout)
    return service


def http_probe(health: Health) -> tuple[str, ...]:
    """A command, run inside the container, that exits 0 when ``health.path`` answers
    ``health.status``.

    The images have Python but no curl. The probe runs inside the container, where the
    certificate's name need not match 127.0.0.1, and follows the port variable so that an
    override moving the port keeps a working check.
    """
    port = str(health.port)
    if health.port_env:
        port = f"{{os.environ.get({health.port_env!r}, {port!r})}}"
    url = f"{health.scheme}://127.0.0.1:{port}{health.path}"
    source = (
        "import os, ssl, urllib.error as e, urllib.request as u\n"
        f"try: s = u.urlopen(f{json.dumps(url)}, timeout={health.timeout_s - 1}, "
        "context=ssl._create_unverified_context()).status\n"
        "except e.HTTPError as x: s = x.code\n"
        f"raise SystemExit(s != {health.status})"
    )
    return ("python", "-c", source)


def resolve(value: EnvValue, resources: dict[str, Resource]) -> Value:
    """An environment value as the published service sees it."""
    if isinstance(value, str):
        return value
    if isinstance(value, Parameter):
        return Placeholder(value)
    if isinstance(value, EndpointReference):
        return _address(value, resources)
    parts = [resolve(p, resources) for p in value.parts]
    if any(isinstance(p, Placeholder) for p in parts):
        raise AppModelError(f"a parameter inside an expression cannot be published: {value}")
    return "".join(p for p in parts if isinstance(p, str))


def _address(ref: EndpointReference, resources: dict[str, Resource]) -> str:
    target = resources[ref.resource]
    endpoint = target.endpoints[ref.endpoint]
    port = _listen_port(target.name, endpoint)
    return {
        EndpointProperty.URL: f"{endpoint.scheme}://{target.name}:{port}",
        EndpointProperty.HOST: target.name,
        EndpointProperty.PORT: str(port),
        EndpointProperty.SCHEME: endpoint.scheme,
        EndpointProperty.HOST_AND_PORT: f"{target.name}:{port}",
    }[ref.prop]


def _listen_port(resource: str, endpoint: Endpoint) -> int:
    port = endpoint.listen_port
    if port is None:
        raise AppModelError(
            f"endpoint {endpoint.name!r} needs a port to be published", resource=resource
        )
    return port


def relative(path: Path, start: Path) -> str:
    """``path`` relative to the published folder, so the folder can move with its repository."""
    try:
        return os.path.relpath(path, start)
    except ValueError:  # another drive (Windows)
        return str(path)
