"""``scenario6 deploy``: publish, build the images, start the stack and wait until healthy.

The engine is the one ``scenario6 run`` detects (Docker or Podman), with its Compose.

Secrets are resolved like the app model resolves them (environment, then `.env`, then a
prompt) and handed to Compose in its process environment only: nothing is written.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scenario6.apphost import AppModelError, ParameterResolver, read_dotenv, reveal
from scenario6.apphost.parameters import Prompt, terminal_prompt
from scenario6.containers import BuildError, ContainerRuntime, build_image, image_size

from .bundle import Published, publish
from .compose_cli import ComposeProject, find_compose
from .options import PublishOptions
from .spec import Service

Say = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class DeployError(RuntimeError):
    """A step failed; the message names the step and ends with what Compose reported."""


@dataclass
class Deployment:
    published: Published
    project: ComposeProject
    compose: list[str]  # the argv prefix that runs Compose for this engine
    env: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)
    image_sizes: dict[str, int] = field(default_factory=dict)


def build_images(
    services: Mapping[str, Service],
    runtime: ContainerRuntime,
    say: Say = _stderr,
    quiet: bool = False,
) -> list[str]:
    """Build every service with a Dockerfile, the engine's progress on the terminal.

    Builds use the host network (see ``scenario6.containers.build_command``).
    """
    built: list[str] = []
    for service in services.values():
        if service.build is None or service.image in built:
            continue
        say(
            f"Building {service.image} ({service.build.dockerfile.name}"
            f"{', target ' + service.build.target if service.build.target else ''})…"
        )
        try:
            build_image(runtime, service.image, service.build, show_progress=not quiet)
        except BuildError as exc:
            raise DeployError(str(exc)) from None
        built.append(service.image)
    return built


def secret_env(published: Published, prompt: Prompt | None) -> dict[str, str]:
    """Values for the parameters the Compose file interpolates, for Compose's environment."""
    configuration = {**read_dotenv(published.folder / ".env"), **dict(published.app.configuration)}
    resolver = ParameterResolver(configuration, prompt)
    values: dict[str, str] = {}
    for service in published.services.values():
        for parameter in service.parameters:
            values[parameter.env_name] = reveal(resolver.resolve(parameter))
    return values


def deploy(
    options: PublishOptions,
    *,
    overrides: Sequence[Path] = (),
    project_name: str | None = None,
    build: bool = True,
    wait_timeout_s: int = 600,
    env: Mapping[str, str] | None = None,
    prompt: Prompt | None = terminal_prompt,
    say: Say = _stderr,
    quiet_build: bool = False,
    runtime: ContainerRuntime | None = None,
) -> Deployment:
    """Brings the published stack up; on failure it is left for inspection (see ``down``).

    ``runtime`` defaults to the detected engine, which must answer.
    """
    started = time.monotonic()
    published = publish(options)
    seconds = {"publish": time.monotonic() - started}
    if runtime is None:
        runtime = ContainerRuntime.detect()
        runtime.check_engine()
    compose = find_compose(runtime)
    if build:
        mark = time.monotonic()
        build_images(published.services, runtime, say, quiet_build)
        seconds["build"] = time.monotonic() - mark
    try:
        secrets = secret_env(published, prompt)
    except AppModelError as exc:
        raise DeployError(str(exc)) from None
    compose_env = {**(os.environ if env is None else env), **secrets}
    project = ComposeProject(published.compose_file, tuple(overrides), project_name)
    deployment = Deployment(published, project, compose, compose_env, seconds)
    say("Starting the services and waiting until they are healthy…")
    mark = time.monotonic()
    # Images are built above (with progress) or, with build=False, expected to exist.
    args = ["up", "-d", "--wait", "--wait-timeout", str(wait_timeout_s), "--no-build"]
    result = project.run(*args, env=compose_env, compose=compose, capture=True)
    seconds["up"] = time.monotonic() - mark
    if result.returncode != 0:
        status = project.run("ps", "-a", env=compose_env, compose=compose, capture=True).stdout
        logs = project.run(
            "logs", "--no-color", "--tail", "30", env=compose_env, compose=compose, capture=True
        ).stdout
        # Not `down -v`: that would also delete the model cache volume.
        down = " ".join(project.argv(["down"], compose))
        raise DeployError(
            f"`{' '.join(compose)} up` failed (exit {result.returncode}); the services are left "
            f"for inspection (remove them with: {down}):\n"
            f"{_redact(result.stderr, secrets)[-3000:]}\n{_redact(status, secrets)}\n"
            f"{_redact(logs, secrets)[-4000:]}"
        )
    seconds["total"] = time.monotonic() - started
    # The images this project makes; others (Redis, nginx) come from where Compose found them.
    deployment.image_sizes = {
        s.image: image_size(runtime, s.image)
        for s in published.services.values()
        if s.image_env is None
    }
    return deployment


def _redact(text: str, secrets: Mapping[str, str]) -> str:
    for value in secrets.values():
        if value:
            text = text.replace(value, "********")
    return text
