"""Turns the app model's references into concrete values for a local run."""

from __future__ import annotations

import socket

from scenario6.apphost import (
    ContainerResource,
    DistributedApplication,
    EndpointProperty,
    EndpointReference,
    EnvValue,
    Parameter,
    ParameterResolver,
    PythonAppResource,
    Resource,
    Secret,
)
from scenario6.apphost.endpoints import Endpoint
from scenario6.containers import ContainerRuntime

from .process import public_environment

LOCALHOST = "127.0.0.1"


def secret_names(app: DistributedApplication) -> frozenset[str]:
    """The variables the app model declares secret: no child inherits them from us."""
    return frozenset(p.env_name for p in app.parameters.values() if p.secret)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


class RunResolver:
    """Ports, URLs and environments as this machine sees them during ``scenario6 run``."""

    def __init__(
        self,
        app: DistributedApplication,
        parameters: ParameterResolver,
        runtime: ContainerRuntime | None,
    ) -> None:
        self.app = app
        self.parameters = parameters
        self.runtime = runtime
        self._ports: dict[tuple[str, str], int] = {}

    def container_name(self, resource: Resource) -> str:
        return f"{resource.name}-{self.app.app_id.rsplit('-', 1)[-1]}"

    def host_port(self, resource: Resource, endpoint: Endpoint) -> int:
        key = (resource.name, endpoint.name)
        if key not in self._ports:
            self._ports[key] = endpoint.host_port or free_port()
        return self._ports[key]

    def listen_port(self, resource: Resource, endpoint: Endpoint) -> int:
        """Where the process itself listens (a container on a bridge: its target port)."""
        if isinstance(resource, ContainerResource) and not self._host_network:
            return endpoint.target_port or self.host_port(resource, endpoint)
        return self.host_port(resource, endpoint)

    @property
    def _host_network(self) -> bool:
        return self.runtime is None or self.runtime.host_network

    def url(self, resource: Resource, endpoint_name: str, path: str = "") -> str:
        endpoint = resource.endpoints[endpoint_name]
        return f"{endpoint.scheme}://{LOCALHOST}:{self.host_port(resource, endpoint)}{path}"

    def endpoint_value(self, ref: EndpointReference, consumer: Resource) -> str:
        target = self.app.resource(ref.resource)
        endpoint = target.endpoints[ref.endpoint]
        host, port = LOCALHOST, self.host_port(target, endpoint)
        if isinstance(consumer, ContainerResource) and not self._host_network:
            if isinstance(target, ContainerResource):
                host, port = target.name, self.listen_port(target, endpoint)  # its alias
            else:
                host = "host.docker.internal"
        values = {
            EndpointProperty.URL: f"{endpoint.scheme}://{host}:{port}",
            EndpointProperty.HOST: host,
            EndpointProperty.PORT: str(port),
            EndpointProperty.SCHEME: endpoint.scheme,
            EndpointProperty.HOST_AND_PORT: f"{host}:{port}",
        }
        return values[ref.prop]

    def value(self, value: EnvValue, consumer: Resource) -> str | Secret:
        if isinstance(value, str):
            return value
        if isinstance(value, Parameter):
            return self.parameters.resolve(value)
        if isinstance(value, EndpointReference):
            return self.endpoint_value(value, consumer)
        parts = [self.value(p, consumer) for p in value.parts]
        text = "".join(p.reveal() if isinstance(p, Secret) else p for p in parts)
        return Secret(text) if any(isinstance(p, Secret) for p in parts) else text

    def environment(self, resource: Resource) -> tuple[dict[str, str], dict[str, str]]:
        """(plain, secret) variables for ``resource``; secrets never go on a command line."""
        plain: dict[str, str] = {}
        secret: dict[str, str] = {}
        for endpoint in resource.endpoints.values():
            if endpoint.env:
                plain[endpoint.env] = str(self.listen_port(resource, endpoint))
        if isinstance(resource, PythonAppResource):
            plain.setdefault("PYTHONUNBUFFERED", "1")
            plain["OTEL_SERVICE_NAME"] = resource.name
            plain["OTEL_RESOURCE_ATTRIBUTES"] = f"service.instance.id={resource.name}"
        for key, raw in resource.env.items():
            resolved = self.value(raw, resource)
            if isinstance(resolved, Secret):
                secret[key] = resolved.reveal()
            else:
                plain[key] = resolved
        return plain, secret

    def inherited_environment(self) -> dict[str, str]:
        """Ours, minus every secret: the known ones and those the app model declares."""
        return public_environment(secret_names(self.app))

    def native_environment(self, resource: Resource) -> dict[str, str]:
        """The full environment of a native child: ours, minus secrets it was not given."""
        plain, secret = self.environment(resource)
        return {**self.inherited_environment(), **plain, **secret}
