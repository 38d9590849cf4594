"""The container engine (Docker or Podman) and its access to NVIDIA GPUs."""

from __future__ import annotations

from pathlib import Path

from scenario6.run.runtime import nvidia_support

from .result import CheckResult, Context, Status

RUNTIME_VARIABLE = "SCENARIO6_CONTAINER_RUNTIME"
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
    runtimes = ""
    if _is_docker(runtime):
        runtimes = ctx.command([runtime, "info", "--format", "{{json .Runtimes}}"])[1]
    found = nvidia_support(not _is_docker(runtime), runtimes, ctx.which)
    if found:
        return CheckResult(name, Status.OK, ", ".join(found))
    return CheckResult(
        name,
        Status.FAIL,
        f"{runtime} has no NVIDIA runtime and no CDI spec for nvidia.com/gpu",
        "install the NVIDIA Container Toolkit and run `sudo nvidia-ctk runtime configure` "
        "(Podman: `nvidia-ctk cdi generate`); or use --backend loopback",
    )


def _family(runtime: str) -> str:
    return "podman" if "podman" in Path(runtime).name else "docker"


def _is_docker(runtime: str) -> bool:
    return _family(runtime) == "docker"
