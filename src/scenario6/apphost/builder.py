"""The builder an AppHost file uses, and the validated application it builds."""

from __future__ import annotations

import hashlib
import re
import runpy
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenario6.facts.stack import Stack, chosen

from .configuration import Configuration
from .context import ExecutionContext, Operation
from .errors import AppModelError
from .parameters import Parameter
from .resources import (
    ContainerResource,
    DockerBuild,
    ExecutableResource,
    PythonAppResource,
    PythonEntry,
    Resource,
)
from .validation import start_order, validate


@dataclass
class LoadRequest:
    """Set by a loader (e.g. ``scenario6 run``) so the AppHost file builds instead of runs."""

    operation: Operation
    app_dir: Path
    apphost_path: Path | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    stack: Stack | None = None  # what the command chose; None: the mode's default
    captured: DistributedApplication | None = None


# The package whose ``__main__`` is the ``scenario6`` command (see ``_hand_to_command``).
COMMAND_PACKAGE = "scenario6"
LOADING: ContextVar[LoadRequest | None] = ContextVar("scenario6_apphost_loading", default=None)


class DistributedApplicationBuilder:
    """Collects resources; ``build()`` validates them into a :class:`DistributedApplication`.

    >>> b = DistributedApplicationBuilder(app_dir=Path("."), configuration=Configuration())
    >>> web = b.add_executable("web", "python", ".", ["-m", "http.server"])
    >>> web = web.with_http_endpoint(8000)
    >>> b.build().resource("web").endpoints["http"].port
    8000
    """

    def __init__(
        self,
        *,
        app_dir: Path,
        configuration: Configuration,
        context: ExecutionContext | None = None,
        name: str | None = None,
        apphost_path: Path | None = None,
        args: Sequence[str] = (),
        stack: Stack | None = None,
    ) -> None:
        self.app_dir = app_dir.resolve()
        self.configuration = configuration
        self.execution_context = context or ExecutionContext()
        # Which backend and frontend run, and where: the command's choice, never re-decided.
        self.stack = chosen(stack, self.execution_context.is_publish_mode)
        self.name = name or _slug(self.app_dir.name)
        self.apphost_path = apphost_path
        self.args = list(args)
        self.resources: list[Resource] = []
        self.parameters: dict[str, Parameter] = {}

    def _path(self, value: str | Path) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.app_dir / path

    def _add(self, resource: Resource) -> Any:
        self.resources.append(resource)
        return resource

    def add_parameter(
        self,
        name: str,
        *,
        secret: bool = False,
        default: str | None = None,
        description: str | None = None,
        env: str | None = None,
    ) -> Parameter:
        if name in self.parameters:
            raise AppModelError(f"parameter {name!r} added twice")
        parameter = Parameter(name, secret, default, description, env)
        self.parameters[name] = parameter
        return parameter

    def add_container(self, name: str, image: str) -> ContainerResource:
        return self._add(ContainerResource(name, image))  # type: ignore[no-any-return]

    def add_dockerfile(
        self,
        name: str,
        context: str | Path,
        dockerfile: str | Path = "Dockerfile",
        target: str | None = None,
    ) -> ContainerResource:
        context_path = self._path(context)
        dockerfile_path = Path(dockerfile)
        if not dockerfile_path.is_absolute():
            dockerfile_path = context_path / dockerfile_path
        tag = f"{name}:{target}" if target else f"{name}:latest"
        build = DockerBuild(context_path, dockerfile_path, target)
        return self._add(ContainerResource(name, tag, build))  # type: ignore[no-any-return]

    def add_executable(
        self, name: str, command: str, working_dir: str | Path, args: Sequence[str] = ()
    ) -> ExecutableResource:
        resource = ExecutableResource(name, command, self._path(working_dir))
        resource.with_args(*args)
        return self._add(resource)  # type: ignore[no-any-return]

    def add_python_module(
        self, name: str, project_dir: str | Path, module: str, args: Sequence[str] = ()
    ) -> PythonAppResource:
        resource = PythonAppResource(name, self._path(project_dir), PythonEntry("module", module))
        resource.with_args(*args)
        return self._add(resource)  # type: ignore[no-any-return]

    def add_python_script(
        self, name: str, project_dir: str | Path, script: str, args: Sequence[str] = ()
    ) -> PythonAppResource:
        resource = PythonAppResource(name, self._path(project_dir), PythonEntry("script", script))
        resource.with_args(*args)
        return self._add(resource)  # type: ignore[no-any-return]

    def add_uvicorn_app(self, name: str, project_dir: str | Path, app: str) -> PythonAppResource:
        """An ASGI app (``"module:attribute"``) served by uvicorn, reloading in run mode."""
        resource = PythonAppResource(name, self._path(project_dir), PythonEntry("uvicorn", app))
        resource.reload = self.execution_context.is_run_mode
        return self._add(resource)  # type: ignore[no-any-return]

    def build(self) -> DistributedApplication:
        validate(self.resources, self.parameters, self.execution_context)
        return DistributedApplication(self)


class DistributedApplication:
    """A validated app model: pure data that the run supervisor and the publishers consume."""

    def __init__(self, builder: DistributedApplicationBuilder) -> None:
        self.name = builder.name
        self.app_dir = builder.app_dir
        self.apphost_path = builder.apphost_path
        self.execution_context = builder.execution_context
        self.stack = builder.stack
        self.configuration = builder.configuration
        self.resources: tuple[Resource, ...] = tuple(builder.resources)
        self.parameters = dict(builder.parameters)
        self._args = builder.args

    @staticmethod
    def create_builder(
        args: Sequence[str] | None = None, *, name: str | None = None
    ) -> DistributedApplicationBuilder:
        """The builder for this AppHost run: ``python apphost.py [run|publish] [options]``."""
        request = LOADING.get()
        if request is not None:
            return DistributedApplicationBuilder(
                app_dir=request.app_dir,
                configuration=Configuration.for_app_dir(request.app_dir, request.overrides),
                context=ExecutionContext(request.operation),
                name=name,
                apphost_path=request.apphost_path,
                stack=request.stack,
            )
        argv = list(sys.argv[1:] if args is None else args)
        operation = Operation.RUN
        if argv[:1] in (["run"], ["publish"]):
            operation = Operation(argv.pop(0))
        main_file = Path(sys.argv[0]).resolve()
        app_dir = main_file.parent if main_file.is_file() else Path.cwd()
        return DistributedApplicationBuilder(
            app_dir=app_dir,
            configuration=Configuration.for_app_dir(app_dir),
            context=ExecutionContext(operation),
            name=name,
            apphost_path=main_file if main_file.is_file() else None,
            args=argv,
        )

    @property
    def app_id(self) -> str:
        """Stable per AppHost file: names and labels containers so copies never collide."""
        where = str(self.apphost_path or self.app_dir)
        return f"{self.name}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"

    def resource(self, name: str) -> Resource:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(name)

    def start_order(self) -> list[Resource]:
        return start_order(self.resources)

    def run(self) -> None:
        """Hand the app to a loader, or (run as a script) to ``scenario6 run|publish``."""
        request = LOADING.get()
        if request is not None:
            request.captured = self
            return
        command = self.execution_context.operation.value
        apphost = str(self.apphost_path) if self.apphost_path else "apphost.py"
        _hand_to_command([command, "--apphost", apphost, *self._args])


def _hand_to_command(argv: Sequence[str]) -> None:
    """Run ``python -m scenario6 ARGV`` in this process; it exits with the command's status.

    The app model is the bottom layer and the commands that run or publish it are the top
    one: importing them here would point the layers the wrong way. So an AppHost file run
    as a script hands itself over as a user would, through the public command line
    (``python -m scenario6 run --apphost apphost.py``), and knows nothing of its code. An
    entry point would do the same, but only once the package's metadata is installed;
    ``-m`` works wherever ``import scenario6`` does, as a script run always has.
    """
    sys.argv[1:] = list(argv)
    runpy.run_module(COMMAND_PACKAGE, run_name="__main__", alter_sys=False)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return slug if slug and slug[0].isalpha() else f"app-{slug}".rstrip("-")
