"""The container engine (Docker or Podman) and its access to NVIDIA GPUs.

Detection, the engine's answer and every fix come from ``scenario6.containers``: the doctor
says what ``scenario6 run``, ``deploy`` and ``bench`` would say.
"""

from __future__ import annotations

from scenario6.containers import ContainerRuntime, RuntimeUnavailable

from .result import CheckResult, Context, Status


def detected(ctx: Context) -> ContainerRuntime | RuntimeUnavailable:
    """The engine the commands would use in this context, or why there is none."""
    try:
        return ContainerRuntime.detect(ctx.env)
    except RuntimeUnavailable as problem:
        return problem


def reachable(ctx: Context) -> ContainerRuntime | None:
    """The engine, when it answers; None otherwise (``check_engine`` says why)."""
    runtime = detected(ctx)
    if isinstance(runtime, RuntimeUnavailable):
        return None
    try:
        runtime.engine_version(timeout=15)
    except RuntimeUnavailable:
        return None
    return runtime


def container_runtime(ctx: Context) -> ContainerRuntime | None:
    """The engine to use, when one is installed (it may not answer)."""
    runtime = detected(ctx)
    return None if isinstance(runtime, RuntimeUnavailable) else runtime


def check_engine(ctx: Context) -> CheckResult:
    name = "container engine"
    runtime = detected(ctx)
    try:
        if isinstance(runtime, RuntimeUnavailable):
            raise runtime
        version = runtime.engine_version(timeout=15)
    except RuntimeUnavailable as problem:
        return CheckResult(name, Status.FAIL, problem.problem, problem.fix)
    return CheckResult(name, Status.OK, f"{runtime.name} engine {version}")


def check_nvidia_runtime(ctx: Context) -> CheckResult:
    """Whether containers can get the GPU: Docker's nvidia runtime/hook, or a CDI spec."""
    name = "nvidia container runtime"
    runtime = reachable(ctx)
    if runtime is None:
        return CheckResult(name, Status.SKIP, "no container engine to ask")
    found = runtime.nvidia_support()
    if found:
        return CheckResult(name, Status.OK, ", ".join(found))
    missing = runtime.no_nvidia()
    return CheckResult(name, Status.FAIL, missing.problem, missing.fix)
