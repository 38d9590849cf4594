"""The container engine on this machine: Docker or Podman, reachable or not, GPUs or not.

One detection, one client and one set of fix-it hints for every command that drives an
engine (``run``, ``deploy``, ``bench``) and for ``doctor``, which reports the same findings.
Only this package runs the engine's CLI: others call it through :class:`ContainerRuntime`,
or take a command and its environment from it for a child they supervise (a log follower).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from scenario6.facts.names import TOKEN, TOKEN_ALIASES

RUNTIME_VARIABLE = "SCENARIO6_CONTAINER_RUNTIME"
NETWORK_VARIABLE = "SCENARIO6_CONTAINER_NETWORK"
PREFERENCE = ("docker", "podman")
# Secrets known by name whatever the app model declares: the Hugging Face token, under both
# names huggingface_hub reads. The CLI never inherits one; a container gets one only where
# its caller hands it over for that one call.
KNOWN_SECRETS = frozenset({TOKEN, *TOKEN_ALIASES})
CDI_DIRS = ("/etc/cdi", "/var/run/cdi")

NO_ENGINE_FIX = (
    "install Docker Engine (https://docs.docker.com/engine/install/), Docker Desktop or "
    "Podman; without one, `scenario6 run --backend loopback --backend-runtime native` still works"
)
START_FIX = {
    "docker": "start the engine (`sudo systemctl start docker`, Docker Desktop, or "
    "scripts/docker-engine.sh); check DOCKER_HOST",
    "podman": "start the Podman service or machine (`systemctl --user start podman.socket`; "
    "`podman machine start` on macOS/Windows); check CONTAINER_HOST",
}
PERMISSION_FIX = "add your user to the docker group (`sudo usermod -aG docker $USER`, log in again)"
NVIDIA_FIX = (
    "install the NVIDIA Container Toolkit and run `sudo nvidia-ctk runtime configure` "
    "(Podman: `sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`); without a GPU, "
    "set USE_GPU=0 or use --backend loopback"
)


class RuntimeUnavailable(RuntimeError):
    """No usable container engine: ``problem`` says what is wrong, ``fix`` what to do.

    >>> str(RuntimeUnavailable("no engine", "install one"))
    'no engine\\n  fix: install one'
    """

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.problem}\n  fix: {self.fix}" if self.fix else self.problem

    @property
    def line(self) -> str:
        """Problem and fix on one line, for a list of reasons."""
        return f"{self.problem} (fix: {self.fix})" if self.fix else self.problem


@dataclass(frozen=True)
class ContainerRuntime:
    """The CLI to drive (``docker`` or ``podman``) and how containers reach the host network.

    ``network`` is "host" where the engine has no bridge (SCENARIO6_CONTAINER_NETWORK=host),
    otherwise a per-app bridge network. Its CLI calls get ``env`` (None: this process's
    environment) without the known secrets or those it ``withholds`` (``scenario6 run`` adds
    the ones its app model declares).

    >>> ContainerRuntime("/usr/bin/podman").gpu_args()
    ['--device', 'nvidia.com/gpu=all']
    """

    cli: str
    network: str | None = None
    env: Mapping[str, str] | None = field(default=None, compare=False, repr=False)
    withheld: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    @property
    def name(self) -> str:
        return Path(self.cli).name

    @cached_property
    def is_podman(self) -> bool:
        """Whether the CLI is Podman's, by what it says it is, asked once: a ``docker`` may
        be Podman's Docker-compatible shim, whose flags (GPUs, Compose) are Podman's."""
        said = self._version_line()
        if said.startswith("podman version"):  # Podman, or a shim that runs it
            return True
        if said.startswith("Docker version"):  # Docker's CLI, whatever it is called
            return False
        # Silent, or Podman under another name (it names itself by how it was called): the
        # program a link leads to.
        return "podman" in Path(self.cli).resolve().name

    def _version_line(self) -> str:
        try:
            result = self.run("--version", timeout=10)
        except (subprocess.TimeoutExpired, OSError):
            return ""
        lines = result.stdout.strip().splitlines() if result.returncode == 0 else []
        return lines[0] if lines else ""

    @property
    def host_network(self) -> bool:
        return self.network == "host"

    @classmethod
    def detect(cls, env: Mapping[str, str] | None = None) -> ContainerRuntime:
        """SCENARIO6_CONTAINER_RUNTIME, else docker, else podman, on ``env``'s PATH.

        Raises RuntimeUnavailable when none is installed; the engine itself is not asked.
        """
        environ = os.environ if env is None else env
        network = environ.get(NETWORK_VARIABLE) or None
        wanted = environ.get(RUNTIME_VARIABLE, "").strip()
        search = environ.get("PATH", os.defpath)
        for candidate in [wanted] if wanted else PREFERENCE:
            path = shutil.which(candidate, path=search)
            if path:
                return cls(path, network, env)
        if wanted:
            raise RuntimeUnavailable(
                f"{RUNTIME_VARIABLE}={wanted} but {wanted} is not on PATH",
                f"install {wanted}, or unset {RUNTIME_VARIABLE}",
            )
        raise RuntimeUnavailable("neither docker nor podman is on PATH", NO_ENGINE_FIX)

    def withholding(self, names: Iterable[str]) -> ContainerRuntime:
        """This engine, its CLI calls given none of ``names`` either."""
        return replace(self, withheld=self.withheld.union(names))

    def environment(self, secrets: Mapping[str, str] | None = None) -> dict[str, str]:
        """What one CLI call gets: no secret but ``secrets``, handed over for that call (a
        ``run -e NAME`` reads its value there, never from the command line)."""
        hidden = KNOWN_SECRETS.union(self.withheld)
        base = os.environ if self.env is None else self.env
        return {**{k: v for k, v in base.items() if k not in hidden}, **(secrets or {})}

    def command(self, *args: str) -> list[str]:
        """The argv of one CLI call, for a child the caller supervises (``logs -f``); it runs
        with :meth:`environment`."""
        return [self.cli, *args]

    def which(self, tool: str) -> str | None:
        return shutil.which(tool, path=self.environment().get("PATH", os.defpath))

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """One CLI call, waited for: its stdout and stderr apart."""
        return subprocess.run(
            self.command(*args),
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    async def call(self, *args: str, secrets: Mapping[str, str] | None = None) -> tuple[int, str]:
        """One CLI call without blocking the event loop: (exit code, stdout and stderr)."""
        process = await asyncio.create_subprocess_exec(
            *self.command(*args),
            env=self.environment(secrets),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )
        out, _ = await process.communicate()
        return int(process.returncode or 0), out.decode("utf-8", "replace").strip()

    def engine_version(self, timeout: float = 20) -> str:
        """The engine's (server's) version; raises RuntimeUnavailable when it does not answer."""
        verb, template = ("info", "{{.Version.Version}}") if self.is_podman else (
            "version", "{{.Server.Version}}"
        )  # fmt: skip
        start = START_FIX["podman" if self.is_podman else "docker"]
        try:
            result = self.run(verb, "--format", template, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeUnavailable(
                f"the {self.name} engine did not answer within {timeout:g} s", start
            ) from None
        except OSError as exc:  # on PATH but not runnable (a broken install, a bad shim)
            raise RuntimeUnavailable(f"{self.cli} could not be run: {exc}", NO_ENGINE_FIX) from None
        version = result.stdout.strip()
        if result.returncode == 0 and version and version != "<no value>":
            return version
        said = (result.stderr.strip() or result.stdout.strip()).splitlines()
        environ = self.environment()
        where = environ.get("CONTAINER_HOST" if self.is_podman else "DOCKER_HOST")
        detail = said[-1] if said else f"exit {result.returncode}"
        fix = PERMISSION_FIX if "permission denied" in detail.lower() else start
        raise RuntimeUnavailable(
            f"the {self.name} engine is not running or not reachable"
            f"{f' at {where}' if where else ''}: {detail}",
            fix,
        )

    def check_engine(self) -> None:
        """Raise RuntimeUnavailable, with the fix, when the engine does not answer."""
        self.engine_version()

    def nvidia_support(self) -> list[str]:
        """What lets this engine's containers use NVIDIA GPUs; empty when nothing does."""
        runtimes = ""
        if not self.is_podman:
            try:
                result = self.run("info", "--format", "{{json .Runtimes}}")
            except (subprocess.TimeoutExpired, OSError):
                return []
            runtimes = result.stdout if result.returncode == 0 else ""
        return nvidia_support(self.is_podman, runtimes, self.which)

    def has_nvidia(self) -> bool:
        return bool(self.nvidia_support())

    def no_nvidia(self) -> RuntimeUnavailable:
        """The finding, with its fix, for an engine whose containers cannot get a GPU."""
        return RuntimeUnavailable(
            f"{self.name} has no NVIDIA runtime and no CDI spec for nvidia.com/gpu", NVIDIA_FIX
        )

    def gpu_args(self) -> list[str]:
        return ["--device", "nvidia.com/gpu=all"] if self.is_podman else ["--gpus=all"]


def nvidia_support(
    podman: bool, docker_runtimes: str, which: Callable[[str], str | None]
) -> list[str]:
    """What lets containers use NVIDIA GPUs here, for ``gpu_args``; empty when nothing does.

    Docker's ``--gpus`` needs the NVIDIA Container Toolkit (or a runtime named ``nvidia``, from
    ``docker info --format '{{json .Runtimes}}'``); Podman's CDI device needs a CDI spec.
    """
    if podman:
        return [f"CDI spec {spec}" for spec in _cdi_specs()]
    found = []
    try:
        runtimes = json.loads(docker_runtimes or "{}")
    except ValueError:
        runtimes = {}
    if isinstance(runtimes, dict) and "nvidia" in runtimes:
        found.append("docker runtime 'nvidia'")
    if which("nvidia-container-runtime-hook") or which("nvidia-ctk"):
        found.append("NVIDIA Container Toolkit")
    return found


def _cdi_specs() -> list[str]:
    specs = []
    for folder in map(Path, CDI_DIRS):
        for spec in sorted(folder.glob("*")) if folder.is_dir() else []:
            try:
                if "nvidia.com/gpu" in spec.read_text(errors="replace"):
                    specs.append(str(spec))
            except OSError:
                continue
    return specs
