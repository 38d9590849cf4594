"""The batched backend's slot count (``MOSHI_SLOTS``), read where and as the app model reads it."""

from __future__ import annotations

from scenario6.facts.slots import AUTO, SLOTS_ENV, SlotsError, parse_slots

from .result import CheckResult, Context, Status


def check_slots(ctx: Context) -> CheckResult:
    name = "conversations per backend"
    try:
        slots = parse_slots(ctx.setting(SLOTS_ENV))
    except SlotsError as exc:
        return CheckResult(
            name,
            Status.FAIL,
            str(exc),
            f"set {SLOTS_ENV} in .env (or the environment) to a whole number ≥ 1, or to {AUTO}",
        )
    if slots == AUTO:
        return CheckResult(
            name,
            Status.OK,
            f"{SLOTS_ENV}={AUTO}: each backend holds as many as its GPU's free memory allows, "
            "decided when it starts",
        )
    summary = f"{SLOTS_ENV}={slots}: each backend holds up to {slots} at once"
    return CheckResult(name, Status.OK, summary)
