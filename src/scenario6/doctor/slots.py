"""The batched backend's slot count (``MOSHI_SLOTS``), read where and as the app model reads it."""

from __future__ import annotations

from scenario6.backend.slots import AUTO, ENV, SlotsError, parse_slots

from .result import CheckResult, Context, Status


def check_slots(ctx: Context) -> CheckResult:
    name = "conversations per backend"
    try:
        held = parse_slots(ctx.setting(ENV))
    except SlotsError as exc:
        return CheckResult(
            name,
            Status.FAIL,
            str(exc),
            f"set {ENV} in .env (or the environment) to a whole number ≥ 1, or to {AUTO}",
        )
    if held == AUTO:
        return CheckResult(
            name,
            Status.OK,
            f"{ENV}={AUTO}: each backend holds as many as its GPU's free memory allows, "
            "decided when it starts",
        )
    return CheckResult(name, Status.OK, f"{ENV}={held}: each backend holds up to {held} at once")
