"""The app model: an Aspire-shaped description of the resources that make up the app.

An AppHost file builds it; ``scenario6 run`` runs it and ``scenario6 publish`` turns it into
deployment files. Both read the resources of the validated ``DistributedApplication``.
"""

from .builder import DistributedApplication, DistributedApplicationBuilder
from .configuration import Configuration, read_dotenv
from .context import ExecutionContext, Operation
from .endpoints import (
    Endpoint,
    EndpointProperty,
    EndpointReference,
    EnvValue,
    ReferenceExpression,
    references_in,
)
from .errors import AppModelError
from .loader import load_apphost
from .parameters import Parameter, ParameterResolver, ParameterValue, Secret, reveal
from .resources import (
    ContainerResource,
    DockerBuild,
    ExecutableResource,
    HttpHealthCheck,
    Lifetime,
    PythonAppResource,
    PythonEntry,
    PythonInstaller,
    Resource,
    Volume,
)

__all__ = [
    "AppModelError",
    "Configuration",
    "ContainerResource",
    "DistributedApplication",
    "DistributedApplicationBuilder",
    "DockerBuild",
    "Endpoint",
    "EndpointProperty",
    "EndpointReference",
    "EnvValue",
    "ExecutableResource",
    "ExecutionContext",
    "HttpHealthCheck",
    "Lifetime",
    "Operation",
    "Parameter",
    "ParameterResolver",
    "ParameterValue",
    "PythonAppResource",
    "PythonEntry",
    "PythonInstaller",
    "ReferenceExpression",
    "Resource",
    "Secret",
    "Volume",
    "load_apphost",
    "read_dotenv",
    "references_in",
    "reveal",
]
