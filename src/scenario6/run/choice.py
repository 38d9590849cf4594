"""Which backend and frontend ``scenario6 run`` uses and where each runs, decided once."""

from __future__ import annotations

from dataclasses import dataclass, field

from scenario6.apphost import Configuration
from scenario6.containers import ContainerRuntime, RuntimeUnavailable
from scenario6.facts import kinds
from scenario6.facts.kinds import LOOPBACK, MODEL_BACKENDS, PERSONAPLEX
from scenario6.facts.names import TOKEN
from scenario6.facts.stack import BackendPlacement, FrontendPlacement, Stack
from scenario6.facts.urls import parse_backend_urls

from .process import public_environment

AUTO = "auto"
BACKENDS = (AUTO, *kinds.BACKENDS)


class ChoiceError(Exception):
    """The requested combination cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class RunChoice:
    backend: str  # a backend kind (personaplex, loopback, batched) or an external URL
    backend_placement: BackendPlacement
    frontend: FrontendPlacement
    runtime: ContainerRuntime | None
    warnings: list[str] = field(default_factory=list)

    @property
    def stack(self) -> Stack:
        """The choice as the app model's loader takes it (``load_apphost(..., stack=)``)."""
        return Stack(self.backend, self.backend_placement, self.frontend)


def _engine() -> tuple[ContainerRuntime | None, str]:
    try:
        # Its own calls (`docker info`) get no secret from us, as no child does.
        runtime = ContainerRuntime.detect(public_environment())
        runtime.check_engine()
    except RuntimeUnavailable as error:
        return None, error.line
    return runtime, ""


def choose(
    backend: str,
    backend_placement: BackendPlacement | None,
    frontend: FrontendPlacement,
    configuration: Configuration,
) -> RunChoice:
    """Resolve ``auto`` and defaults against what this machine has."""
    if backend not in BACKENDS:
        try:  # as the frontend will read it from MOSHI_WS_URL: refused now, not at its start
            parse_backend_urls(backend)
        except ValueError as error:
            raise ChoiceError(
                f"--backend {backend!r}: use {', '.join(BACKENDS)} or a backend URL ({error})"
            ) from None
        runtime, engine_problem = _engine() if frontend == "docker" else (None, "")
        if frontend == "docker" and runtime is None:
            raise ChoiceError(f"--frontend docker needs a container engine: {engine_problem}")
        return RunChoice(backend, "external", frontend, runtime)
    if backend in MODEL_BACKENDS and backend_placement == "native":
        raise ChoiceError(
            f"--backend {backend} runs in its container image; --backend-runtime native is "
            "for the loopback backend"
        )
    needs_engine = backend != LOOPBACK or backend_placement != "native" or frontend == "docker"
    runtime, engine_problem = _engine() if needs_engine else (None, "")
    token = bool((configuration.get(TOKEN) or "").strip())
    use_gpu = configuration.get_bool("USE_GPU", True)
    warnings: list[str] = []
    if backend == AUTO or backend in MODEL_BACKENDS:
        problems = []
        if runtime is None:
            problems.append(engine_problem)
        elif use_gpu and not runtime.has_nvidia():
            problems.append(runtime.no_nvidia().line)
        if backend != AUTO and problems:
            raise ChoiceError(f"--backend {backend} cannot run here: " + "; ".join(problems))
        if backend == AUTO:
            if not token:
                problems.append(f"no {TOKEN} in the environment or .env")
            if problems:
                warnings.append(
                    "using the LOOPBACK backend (it echoes your voice; no model): "
                    + "; ".join(problems)
                )
                backend = LOOPBACK
                # A stand-in needs no image: natively it starts at once, on any machine.
                if backend_placement is None:
                    backend_placement = "native"
                    warnings.append(
                        "running the loopback backend natively; --backend-runtime container "
                        "runs its image instead"
                    )
            else:
                backend = PERSONAPLEX
    if backend in MODEL_BACKENDS:
        return RunChoice(backend, "container", frontend, runtime, warnings)
    if backend_placement is None:
        backend_placement = "container" if runtime is not None else "native"
        if runtime is None:
            warnings.append(f"running the loopback backend natively: {engine_problem}")
    if backend_placement == "container" and runtime is None:
        raise ChoiceError(f"--backend-runtime container needs a container engine: {engine_problem}")
    if frontend == "docker" and runtime is None:
        raise ChoiceError(f"--frontend docker needs a container engine: {engine_problem}")
    return RunChoice(backend, backend_placement, frontend, runtime, warnings)
