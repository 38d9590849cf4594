"""Checks `build()` runs: every reference resolves, no waiting in circles, sane fields."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from .context import ExecutionContext
from .endpoints import EndpointReference, references_in
from .errors import AppModelError
from .parameters import Parameter
from .resources import ContainerResource, ExecutableResource, PythonAppResource, Resource

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate(
    resources: Sequence[Resource],
    parameters: Mapping[str, Parameter],
    context: ExecutionContext,
) -> None:
    by_name: dict[str, Resource] = {}
    for resource in resources:
        if not _NAME.match(resource.name):
            raise AppModelError(
                "must be lowercase letters, digits and '-', starting with a letter",
                resource=resource.name,
                field="name",
            )
        if resource.name in by_name:
            raise AppModelError("defined twice", resource=resource.name, field="name")
        by_name[resource.name] = resource
    host_ports: dict[int, str] = {}
    for resource in resources:
        _check_fields(resource, context)
        for endpoint in resource.endpoints.values():
            port = endpoint.host_port
            if port is not None:
                owner = host_ports.setdefault(port, f"{resource.name}/{endpoint.name}")
                if owner != f"{resource.name}/{endpoint.name}":
                    raise AppModelError(
                        f"host port {port} is already used by {owner}",
                        resource=resource.name,
                        field="port",
                    )
        for key, value in resource.env.items():
            if not _ENV_KEY.match(key):
                raise AppModelError("not a valid variable name", resource=resource.name, field=key)
            for ref in references_in(value):
                _check_reference(resource, key, ref, by_name, parameters)
        for check in resource.health_checks:
            checked = resource.endpoints.get(check.endpoint)
            if checked is None or checked.scheme not in ("http", "https"):
                raise AppModelError(
                    f"health check needs an http(s) endpoint named {check.endpoint!r}",
                    resource=resource.name,
                    field="health_check",
                )
            if not check.path.startswith("/"):
                raise AppModelError(
                    "path must start with '/'", resource=resource.name, field="health_check"
                )
        for wait in resource.waits:
            if wait not in by_name:
                raise AppModelError(
                    f"waits for unknown resource {wait!r}", resource=resource.name, field="wait_for"
                )
    _reject_cycles(resources)


def _check_reference(
    resource: Resource,
    key: str,
    ref: Parameter | EndpointReference,
    by_name: Mapping[str, Resource],
    parameters: Mapping[str, Parameter],
) -> None:
    if isinstance(ref, Parameter):
        if parameters.get(ref.name) is not ref:
            raise AppModelError(
                f"parameter {ref.name!r} was not added with add_parameter",
                resource=resource.name,
                field=key,
            )
        return
    target = by_name.get(ref.resource)
    if target is None:
        raise AppModelError(
            f"refers to unknown resource {ref.resource!r}", resource=resource.name, field=key
        )
    if ref.endpoint not in target.endpoints:
        known = ", ".join(target.endpoints) or "none"
        raise AppModelError(
            f"refers to endpoint {ref.endpoint!r} of {ref.resource!r}, which has: {known}",
            resource=resource.name,
            field=key,
        )


def _check_fields(resource: Resource, context: ExecutionContext) -> None:
    for endpoint in resource.endpoints.values():
        for field, port in (("port", endpoint.port), ("target_port", endpoint.target_port)):
            if port is not None and not 1 <= port <= 65535:
                raise AppModelError(
                    f"{port} is not a port (1-65535)", resource=resource.name, field=field
                )
        if endpoint.scheme not in ("http", "https", "tcp", "ws", "wss"):
            raise AppModelError(
                f"unknown scheme {endpoint.scheme!r}", resource=resource.name, field="scheme"
            )
        if endpoint.env is not None and not _ENV_KEY.match(endpoint.env):
            raise AppModelError("not a valid variable name", resource=resource.name, field="env")
    if isinstance(resource, ContainerResource):
        if not resource.image:
            raise AppModelError("must not be empty", resource=resource.name, field="image")
        build = resource.build
        if build is not None and context.is_run_mode:
            if not build.context.is_dir():
                raise AppModelError(
                    f"{build.context} is not a directory", resource=resource.name, field="context"
                )
            if not build.dockerfile.is_file():
                raise AppModelError(
                    f"{build.dockerfile} does not exist", resource=resource.name, field="dockerfile"
                )
        for volume in resource.volumes:
            if not volume.target.startswith("/"):
                raise AppModelError(
                    f"mount target {volume.target!r} must be an absolute path",
                    resource=resource.name,
                    field="volume",
                )
    elif isinstance(resource, ExecutableResource):
        if not resource.command:
            raise AppModelError("must not be empty", resource=resource.name, field="command")
    elif isinstance(resource, PythonAppResource):
        if context.is_run_mode and not resource.project_dir.is_dir():
            raise AppModelError(
                f"{resource.project_dir} is not a directory",
                resource=resource.name,
                field="project_dir",
            )
        if resource.entry.kind == "uvicorn" and ":" not in resource.entry.target:
            raise AppModelError(
                f"{resource.entry.target!r} is not 'module:attribute'",
                resource=resource.name,
                field="app",
            )


def _reject_cycles(resources: Sequence[Resource]) -> None:
    graph = {r.name: r.waits for r in resources}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in graph[name]:
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                raise AppModelError(
                    "wait_for cycle: " + " → ".join(cycle), resource=name, field="wait_for"
                )
            if dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2

    for resource in resources:
        if resource.name not in state:
            visit(resource.name)


def start_order(resources: Sequence[Resource]) -> list[Resource]:
    """Resources ordered so each comes after what it waits for (declaration order otherwise)."""
    by_name = {r.name: r for r in resources}
    done: dict[str, Resource] = {}

    def visit(resource: Resource) -> None:
        for dep in resource.waits:
            if dep not in done:
                visit(by_name[dep])
        done.setdefault(resource.name, resource)

    for resource in resources:
        visit(resource)
    return list(done.values())
