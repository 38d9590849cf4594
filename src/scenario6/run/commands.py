"""The command line a native resource is started with."""

from __future__ import annotations

import shutil
from pathlib import Path

from scenario6.apphost import ExecutableResource, PythonAppResource, Resource

from . import reloader
from .resolve import LOCALHOST, RunResolver


class CommandUnavailable(Exception):
    """The program a resource runs is missing; the message says how to get it."""


def native_command(
    resource: Resource,
    resolver: RunResolver,
    python: Path | None,
    reload: bool,
    debug_port: int | None = None,
) -> list[str]:
    if isinstance(resource, ExecutableResource):
        found = shutil.which(resource.command, path=None) or (
            resource.command if Path(resource.command).is_file() else None
        )
        if found is None:
            raise CommandUnavailable(
                f"{resource.name}: command {resource.command!r} was not found on PATH"
            )
        return [found, *resource.args]
    if not isinstance(resource, PythonAppResource):
        raise TypeError(f"{resource.name} is not a native resource")
    if python is None:
        raise CommandUnavailable(f"{resource.name}: no Python interpreter prepared")
    entry = resource.entry
    if entry.kind == "module":
        return [str(python), "-m", entry.target, *resource.args]
    if entry.kind == "script":
        return [str(python), str(resource.project_dir / entry.target), *resource.args]
    endpoint = next(iter(resource.endpoints.values()), None)
    port = str(resolver.listen_port(resource, endpoint)) if endpoint else "8000"
    if debug_port is not None:
        # Under debugpy, without the forking reloader: breakpoints live in one process.
        argv = [str(python), "-m", "scenario6.debug", "--listen", f"{LOCALHOST}:{debug_port}"]
        argv += ["-m", "uvicorn", entry.target, "--host", LOCALHOST, "--port", port]
        return [*argv, *resource.args]
    if reload and resource.reload:
        # Run by path: the reloader needs only uvicorn and watchfiles in the app's venv.
        argv = [str(python), reloader.__file__, entry.target, "--host", LOCALHOST, "--port", port]
        argv += ["--app-dir", str(resource.project_dir)]
        for folder in resource.reload_dirs or [resource.project_dir]:
            argv += ["--reload-dir", str(folder)]
        for module in resource.preload:
            argv += ["--preload", module]
        return [*argv, *resource.args]
    argv = [str(python), "-m", "uvicorn", entry.target, "--host", LOCALHOST, "--port", port]
    return [*argv, *resource.args]
