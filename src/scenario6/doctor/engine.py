"""The container engine (Docker or Podman) and its access to NVIDIA GPUs."""

from __future__ import annotations

import json
from pathlib import Path

from .result import CheckResult, Context, Status

RUNTIME_VARIABLE = "SCENARIO6_CONTAINER_RUNTIME"
_CDI_DIRS = ("/etc/cdi", "/var/run/cdi")
_START = {
    "docker": "start the engine (`sudo systemctl start docker`, Docker Desktop, or "
    "scripts/docker-engine.sh); check DOCKER_HOST",
    "podman": "start the Podman service or machine (`podman machine start` on macOS/Windows)",
}


def container_runtime(ctx: Context) -> str | None:
    """The engine CLI to use: $SCENARIO6_CONTAINER_RUNTIME, else docker, else podman."""
    chosen = ctx.env.get(RUNTIME_VARIABLE, "").strip()
    if chosen:
        return chosen
    for name in ("docker", "podman"):
        if ctx.which(name):
            return name
    return None


def engine_version(ctx: Context, runtime: str) -> tuple[str | None, str]:
    """The engine's server version, or None and the client's error."""
    template = "{{.Server.Version}}" if _is_docker(runtime) else "{{.Version.Version}}"
    verb = "version" if _is_docker(runtime) else "info"
    code, out, err = ctx.command([runtime, verb, "--format", template], timeout=15)
    version = out.strip()
    if code == 0 and version and version != "<no value>":
        return version, ""
    return None, (err.strip().splitlines() or [f"exit {code}"])[-1]


def check_engine(ctx: Context) -> CheckResult:
    runtime = container_runtime(ctx)
    if runtime is None:
        return CheckResult(
            "container engine",
            Status.FAIL,
            "neither docker nor podman is on PATH",
            "install Docker Engine or Docker Desktop (or Podman; then set "
            f"{RUNTIME_VARIABLE}=podman)",
        )
    if not ctx.which(runtime):
        return CheckResult(
            "container engine",
            Status.FAIL,
            f"{RUNTIME_VARIABLE}={runtime} but {runtime} is not on PATH",
            f"install {runtime}, or unset {RUNTIME_VARIABLE}",
        )
    version, error = engine_version(ctx, runtime)
    if version is None:
        fix = _START.get(_family(runtime), _START["docker"])
        if "permission denied" in error.lower():
            fix = (
                "add your user to the docker group (`sudo usermod -aG docker $USER`, log in again)"
            )
        return CheckResult(
            "container engine", Status.FAIL, f"{runtime} engine not reachable: {error}", fix
        )
    return CheckResult("container engine", Status.OK, f"{runtime} engine {version}")


def check_nvidia_runtime(ctx: Context) -> CheckResult:
    """Whether containers can get the GPU: Docker's nvidia runtime/hook, or a CDI spec."""
    name = "nvidia container runtime"
    runtime = container_runtime(ctx)
    if runtime is None or not ctx.which(runtime) or engine_version(ctx, runtime)[0] is None:
        return CheckResult(name, Status.SKIP, "no container engine to ask")
    found: list[str] = []
    if _is_docker(runtime):
        code, out, _ = ctx.command([runtime, "info", "--format", "{{json .Runtimes}}"])
        if code == 0 and "nvidia" in _keys(out):
            found.append("docker runtime 'nvidia'")
    if ctx.which("nvidia-container-runtime-hook") or ctx.which("nvidia-ctk"):
        found.append("NVIDIA Container Toolkit")
    found += [f"CDI spec {spec}" for spec in _cdi_specs()]
    if found:
        return CheckResult(name, Status.OK, ", ".join(found))
    return CheckResult(
        name,
        Status.FAIL,
        f"{runtime} has no NVIDIA runtime and no CDI spec for nvidia.com/gpu",
        "install the NVIDIA Container Toolkit and run `sudo nvidia-ctk runtime configure` "
        "(Podman: `nvidia-ctk cdi generate`); or use --backend loopback",
    )


def _cdi_specs() -> list[str]:
    specs = []
    for folder in map(Path, _CDI_DIRS):
        for spec in sorted(folder.glob("*")) if folder.is_dir() else []:
            try:
                if "nvidia.com/gpu" in spec.read_text(errors="replace"):
                    specs.append(str(spec))
            except OSError:
                continue
    return specs


def _keys(text: str) -> set[str]:
    try:
        data = json.loads(text)
    except ValueError:
        return set()
    return set(data) if isinstance(data, dict) else set()


def _family(runtime: str) -> str:
    return "podman" if "podman" in Path(runtime).name else "docker"


def _is_docker(runtime: str) -> bool:
    return _family(runtime) == "docker"
