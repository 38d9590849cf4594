"""The app model as plain JSON-able data, for inspection and for publishers."""

from __future__ import annotations

from typing import Any

from .endpoints import EndpointReference, EnvValue, ReferenceExpression
from .parameters import Parameter
from .resources import ContainerResource, ExecutableResource, PythonAppResource, Resource


def env_value_to_data(value: EnvValue) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Parameter):
        return {"parameter": value.name}
    if isinstance(value, EndpointReference):
        return {
            "endpoint": {
                "resource": value.resource,
                "name": value.endpoint,
                "property": value.prop.value,
            }
        }
    if isinstance(value, ReferenceExpression):
        return {"expression": [env_value_to_data(p) for p in value.parts]}
    raise TypeError(type(value).__name__)


def resource_to_dict(resource: Resource) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": resource.name,
        "kind": resource.kind,
        "env": {k: env_value_to_data(v) for k, v in resource.env.items()},
        "args": list(resource.args),
        "endpoints": [
            {
                "name": e.name,
                "scheme": e.scheme,
                "port": e.port,
                "target_port": e.target_port,
                "env": e.env,
            }
            for e in resource.endpoints.values()
        ],
        "health_checks": [
            {"path": h.path, "endpoint": h.endpoint, "status": h.status}
            for h in resource.health_checks
        ],
        "wait_for": list(resource.waits),
        "startup_timeout": resource.startup_timeout,
    }
    if isinstance(resource, ContainerResource):
        data["image"] = resource.image
        data["build"] = (
            None
            if resource.build is None
            else {
                "context": str(resource.build.context),
                "dockerfile": str(resource.build.dockerfile),
                "target": resource.build.target,
                "args": dict(resource.build.args),
            }
        )
        data["volumes"] = [
            {
                "name": v.name,
                "source": None if v.source is None else str(v.source),
                "target": v.target,
                "read_only": v.read_only,
            }
            for v in resource.volumes
        ]
        data["runtime_args"] = list(resource.runtime_args)
        data["gpus"] = resource.gpus
        data["lifetime"] = resource.lifetime.value
        data["entrypoint"] = resource.entrypoint
    elif isinstance(resource, ExecutableResource):
        data["command"] = resource.command
        data["working_dir"] = str(resource.working_dir)
    elif isinstance(resource, PythonAppResource):
        data["project_dir"] = str(resource.project_dir)
        data["entry"] = {"kind": resource.entry.kind, "target": resource.entry.target}
        data["venv"] = None if resource.venv is None else str(resource.venv)
        data["installer"] = (
            None
            if resource.installer is None
            else {"tool": resource.installer.tool, "args": list(resource.installer.args)}
        )
        data["reload"] = resource.reload
    return data
