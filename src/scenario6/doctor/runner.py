"""Which checks matter for a mode and backend, run together; the report they make."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from scenario6.apphost import AppModelError
from scenario6.facts.kinds import BATCHED, MODEL_BACKENDS
from scenario6.setup.console import mark
from scenario6.setup.project import find_root

from .containers import check_engine, check_nvidia_runtime
from .gpu import check_gpu
from .huggingface import check_model_cache, check_token
from .opus import check_opus
from .ports import check_ports
from .python import check_python, check_venv
from .result import CheckResult, Context, Mode, Status
from .slots import check_slots

Check = Callable[[Context], CheckResult]
_MARKS = {Status.OK: "ok", Status.FAIL: "fail", Status.WARN: "warn"}


@dataclass(frozen=True)
class DoctorReport:
    """Every check's result, in a fixed order. ``ok`` is False when a required one failed."""

    mode: Mode
    backend: str
    results: tuple[CheckResult, ...]

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status is Status.FAIL)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "backend": self.backend,
            "checks": [r.to_json() for r in self.results],
        }

    def render(self, color: bool = False) -> str:
        width = max(len(r.name) for r in self.results) + 2
        lines = [f"scenario6 doctor: mode {self.mode}, backend {self.backend}"]
        for result in self.results:
            symbol = mark(_MARKS[result.status]) if result.status in _MARKS else "-"
            lines.append(
                f"  {_paint(symbol, result.status, color)} {result.name:<{width}}{result.summary}"
            )
            if result.fix and result.status is not Status.OK:
                lines.append(f"    {'':<{width}}fix: {result.fix}")
        failed = len(self.failures)
        if failed:
            lines.append(
                f"{failed} problem(s) block `scenario6 {self.mode}`; fix them and run "
                "`scenario6 doctor` again."
            )
        else:
            lines.append(f"Ready for `scenario6 {self.mode}`.")
        return "\n".join(lines)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)


def run_checks(
    mode: Mode = "run",
    backend: str = "auto",
    *,
    backend_placement: str | None = None,
    env: Mapping[str, str] | None = None,
    root: Path | None = None,
) -> DoctorReport:
    """Check this machine for ``scenario6 <mode> --backend <backend>``.

    ``backend_placement`` is ``container``, ``native`` or None (container when an engine
    answers, else native, as ``scenario6 run`` decides); None also reads
    SCENARIO6_BACKEND_RUNTIME from the environment or ``.env``.

    >>> report = run_checks(mode="run", backend="loopback")  # doctest: +SKIP
    >>> report.ok, [r.name for r in report.failures]  # doctest: +SKIP
    """
    ctx = Context(
        root=root or find_root(),
        env=dict(os.environ if env is None else env),
        mode=mode,
        backend=backend,
    )
    plan = _plan(ctx, backend_placement or ctx.setting("SCENARIO6_BACKEND_RUNTIME") or None)
    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        futures = [(pool.submit(check, ctx), required, reason) for check, required, reason in plan]
        results = []
        for future, required, reason in futures:
            result = future.result()
            if reason is not None:
                result = CheckResult(result.name, Status.SKIP, reason)
            elif required:
                result = replace(result, required=True)
            else:
                result = result.as_warning()
            results.append(result)
    return DoctorReport(mode, backend, tuple(results))


def _plan(ctx: Context, placement: str | None) -> list[tuple[Check, bool, str | None]]:
    """(check, required, reason to skip) for this mode and backend."""
    run, backend = ctx.mode == "run", ctx.backend
    external = "://" in backend
    chosen_model = backend in MODEL_BACKENDS  # what `auto` picks is still open
    model = backend == "auto" or chosen_model
    native = placement == "native"
    # Without an engine, run mode falls back to a native loopback backend unless told otherwise.
    needs_engine = not run or chosen_model or placement == "container"
    try:
        use_gpu = ctx.configuration.get_bool("USE_GPU", True)
    except AppModelError:  # `scenario6 run` names the bad value; here it only picks checks
        use_gpu = True
    not_model = None if model or not run else f"not needed for the {_kind(backend)} backend"
    not_batched = None if backend == BATCHED else f"not needed for the {_kind(backend)} backend"
    # Local model files (apphost.py's PERSONAPLEX_MODEL_DIR): nothing to download, no token.
    local_model = "not needed: the model comes from PERSONAPLEX_MODEL_DIR"
    not_downloaded = not_model or (local_model if ctx.setting("PERSONAPLEX_MODEL_DIR") else None)
    in_container = "not needed: the backend runs in a container" if not native else None
    if external:
        in_container = "not needed for an external backend"
    return [
        (check_python, True, None),
        (check_venv, run, None),
        (check_engine, needs_engine, None),
        (check_nvidia_runtime, run and chosen_model and use_gpu, not_model),
        (check_gpu, False, not_model),
        (check_token, run and chosen_model, not_downloaded),
        (check_model_cache, False, not_downloaded),
        (check_ports, run, None),
        (check_slots, True, not_batched),
        (
            check_opus,
            native and chosen_model,
            in_container if run else "not needed in publish mode",
        ),
    ]


def _kind(backend: str) -> str:
    return "external" if "://" in backend else backend


def _paint(symbol: str, status: Status, color: bool) -> str:
    if not color:
        return symbol
    code = {Status.OK: "32", Status.FAIL: "31", Status.WARN: "33"}.get(status, "2")
    return f"\033[{code}m{symbol}\033[0m"
