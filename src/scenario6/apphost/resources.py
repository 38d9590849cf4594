"""Resources of the app model: containers, executables and Python apps, built fluently."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:  # only annotations use it: setup_scenario6.py imports this without a venv
    from typing_extensions import Self  # typing.Self from Python 3.11 on

from .endpoints import Endpoint, EndpointReference, EnvValue, ReferenceExpression
from .errors import AppModelError
from .parameters import Parameter


class Lifetime(enum.Enum):
    """SESSION resources stop with the AppHost; PERSISTENT containers outlive it."""

    SESSION = "session"
    PERSISTENT = "persistent"


@dataclass(frozen=True)
class HttpHealthCheck:
    path: str
    endpoint: str
    status: int = 200


@dataclass(frozen=True)
class Volume:
    """A named volume (``name``) or a bind mount (``source``) mounted at ``target``."""

    target: str
    name: str | None = None
    source: Path | None = None
    read_only: bool = False


@dataclass(frozen=True)
class DockerBuild:
    context: Path
    dockerfile: Path
    target: str | None = None
    args: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PythonInstaller:
    """How dependencies get into the venv: ``pip install ARGS`` or ``uv sync``."""

    tool: Literal["pip", "uv"]
    args: tuple[str, ...] = ()


class Resource:
    """Something the AppHost starts; subclasses add what is specific to their kind."""

    kind: ClassVar[str] = "resource"

    def __init__(self, name: str) -> None:
        self.name = name
        self.env: dict[str, EnvValue] = {}
        self.args: list[str] = []
        self.endpoints: dict[str, Endpoint] = {}
        self.health_checks: list[HttpHealthCheck] = []
        self.waits: list[str] = []
        self.startup_timeout: float | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def with_environment(self, key: str, value: EnvValue | Resource) -> Self:
        if isinstance(value, Resource):
            value = value.get_endpoint(_first_endpoint(value))
        if not isinstance(value, str | Parameter | EndpointReference | ReferenceExpression):
            raise AppModelError(
                f"unsupported value type {type(value).__name__}", resource=self.name, field=key
            )
        self.env[key] = value
        return self

    def with_args(self, *args: str) -> Self:
        self.args.extend(args)
        return self

    def with_endpoint(
        self,
        *,
        name: str,
        scheme: str,
        port: int | None = None,
        target_port: int | None = None,
        env: str | None = None,
    ) -> Self:
        if name in self.endpoints:
            raise AppModelError(f"endpoint {name!r} defined twice", resource=self.name)
        self.endpoints[name] = Endpoint(name, scheme, port, target_port, env)
        return self

    def with_http_endpoint(
        self,
        port: int | None = None,
        target_port: int | None = None,
        name: str = "http",
        env: str | None = None,
    ) -> Self:
        return self.with_endpoint(
            name=name, scheme="http", port=port, target_port=target_port, env=env
        )

    def with_http_health_check(
        self, path: str = "/health", endpoint: str | None = None, status: int = 200
    ) -> Self:
        self.health_checks.append(HttpHealthCheck(path, endpoint or _first_endpoint(self), status))
        return self

    def wait_for(self, other: Resource) -> Self:
        if other.name not in self.waits:
            self.waits.append(other.name)
        return self

    def with_startup_timeout(self, seconds: float) -> Self:
        """How long the run supervisor waits for this resource to become healthy."""
        if seconds <= 0:
            raise AppModelError("must be positive", resource=self.name, field="startup_timeout")
        self.startup_timeout = seconds
        return self

    def get_endpoint(self, name: str = "http") -> EndpointReference:
        return EndpointReference(self.name, name)


def _first_endpoint(resource: Resource) -> str:
    if not resource.endpoints:
        raise AppModelError("has no endpoint yet: add one first", resource=resource.name)
    return next(iter(resource.endpoints))


class ContainerResource(Resource):
    """A container from an image, or from a Dockerfile built first (``build``)."""

    kind = "container"

    def __init__(self, name: str, image: str, build: DockerBuild | None = None) -> None:
        super().__init__(name)
        self.image = image
        self.build = build
        self.volumes: list[Volume] = []
        self.runtime_args: list[str] = []
        self.gpus = False
        self.lifetime = Lifetime.SESSION
        self.entrypoint: str | None = None
        self.exports: list[tuple[str, Path]] = []

    def with_build_arg(self, key: str, value: str) -> Self:
        if self.build is None:
            raise AppModelError("build arguments need add_dockerfile", resource=self.name)
        args = (*((k, v) for k, v in self.build.args if k != key), (key, value))
        self.build = DockerBuild(self.build.context, self.build.dockerfile, self.build.target, args)
        return self

    def with_volume(self, name: str | None, target: str, read_only: bool = False) -> Self:
        self.volumes.append(Volume(target=target, name=name, read_only=read_only))
        return self

    def with_bind_mount(self, source: str | Path, target: str, read_only: bool = False) -> Self:
        self.volumes.append(Volume(target=target, source=Path(source), read_only=read_only))
        return self

    def with_file_export(self, source: str, destination: str | Path) -> Self:
        """In run mode, copy ``source`` out of the container once it is healthy (and again
        after each restart) to ``destination`` (relative: to the app's folder), e.g. a CA
        certificate the container generates and a native process must trust."""
        self.exports.append((source, Path(destination)))
        return self

    def with_container_runtime_args(self, args: list[str] | tuple[str, ...]) -> Self:
        self.runtime_args.extend(args)
        return self

    def with_gpus(self) -> Self:
        """All NVIDIA GPUs: ``--gpus=all`` (Docker) or ``--device nvidia.com/gpu=all`` (Podman)."""
        self.gpus = True
        return self

    def with_lifetime(self, lifetime: Lifetime) -> Self:
        self.lifetime = lifetime
        return self

    def with_entrypoint(self, entrypoint: str) -> Self:
        self.entrypoint = entrypoint
        return self


class ExecutableResource(Resource):
    """A native process: ``command`` with ``args``, started in ``working_dir``."""

    kind = "executable"

    def __init__(self, name: str, command: str, working_dir: Path) -> None:
        super().__init__(name)
        self.command = command
        self.working_dir = working_dir


@dataclass
class PythonEntry:
    kind: Literal["module", "script", "uvicorn"]
    target: str


class PythonAppResource(Resource):
    """A Python app run from a virtual environment (``.venv`` found upward by default)."""

    kind = "python"

    def __init__(self, name: str, project_dir: Path, entry: PythonEntry) -> None:
        super().__init__(name)
        self.project_dir = project_dir
        self.entry = entry
        self.venv: Path | None = None
        self.installer: PythonInstaller | None = None
        self.reload = entry.kind == "uvicorn"
        self.reload_dirs: list[Path] = []
        self.preload: list[str] = []

    @property
    def kind_label(self) -> str:
        return "uvicorn" if self.entry.kind == "uvicorn" else "python"

    def with_virtual_environment(self, path: str | Path) -> Self:
        path = Path(path)
        self.venv = path if path.is_absolute() else self.project_dir / path
        return self

    def with_pip(self, *args: str) -> Self:
        """Install with pip; no ``args`` means ``-r requirements.txt`` or else ``-e .``."""
        self.installer = PythonInstaller("pip", tuple(args))
        return self

    def with_uv(self, *args: str) -> Self:
        self.installer = PythonInstaller("uv", tuple(args))
        return self

    def with_reload(self, *dirs: str | Path, enabled: bool = True) -> Self:
        self.reload = enabled
        self.reload_dirs = [
            Path(d) if Path(d).is_absolute() else self.project_dir / d for d in dirs
        ]
        return self

    def with_preload(self, *modules: str) -> Self:
        """Third-party modules the fast reloader imports once instead of on every reload."""
        self.preload.extend(modules)
        return self
