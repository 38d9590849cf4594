"""The slot count: how many conversations one backend holds at once. One number, one home.

Users meet it under the names below, each a public contract; code imports them from here.
A whole number ≥ 1, or ``auto``: the batched server then derives it when it starts, from the
GPU's free memory and what one conversation costs. The container entrypoint, the app model,
``scenario6 publish`` and ``scenario6 doctor`` read a written value through
:func:`parse_slots`. Standard library only.
"""

from __future__ import annotations

from typing import Final, Literal

# The batched backend's setting (environment, .env, the image's environment).
SLOTS_ENV: Final = "MOSHI_SLOTS"
# The batched server's, the loopback backend's and ``scenario6 publish``'s option.
SLOTS_OPTION: Final = "--slots"
# A backend's answer to the upgrade: how many it holds, so the frontend routes that many.
SLOTS_HEADER: Final = "X-Scenario6-Slots"
# The published backend's label (Compose) or annotation (Kubernetes).
SLOTS_LABEL: Final = "org.scenario6.slots"
# The frontend's count for a backend that does not send the header (a FrontendSettings field).
SLOTS_SETTING: Final = "SESSIONS_PER_BACKEND"
AUTO: Final = "auto"

Slots = int | Literal["auto"]


class SlotsError(ValueError):
    """A slot count that is neither a whole number ≥ 1 nor ``auto``."""


def parse_slots(value: str | None, name: str = SLOTS_ENV) -> Slots:
    """``value`` as a slot count; unset or empty means ``auto``. ``name`` is what errors
    call the value.

    >>> parse_slots("4"), parse_slots(" Auto "), parse_slots(None)
    (4, 'auto', 'auto')
    """
    text = (value or "").strip().lower()
    if text in ("", AUTO):
        return AUTO
    if not (text.isascii() and text.isdigit()):
        raise SlotsError(f"{name} must be a whole number ≥ 1 or {AUTO}, not {value!r}")
    slots = int(text)
    if slots < 1:
        raise SlotsError(f"{name} must be at least 1 (or {AUTO}), not {slots}")
    return slots
