"""How many conversations a batched backend holds at once: ``MOSHI_SLOTS``.

A whole number ≥ 1, or ``auto``: the server derives it when it starts, from the GPU's free
memory and what one conversation costs. The container entrypoint, the app model and
``scenario6 doctor`` all read the setting through :func:`parse_slots`. Standard library only.
"""

from __future__ import annotations

from typing import Final, Literal

ENV: Final = "MOSHI_SLOTS"
AUTO: Final = "auto"

Slots = int | Literal["auto"]


class SlotsError(ValueError):
    """A ``MOSHI_SLOTS`` value that is neither a whole number ≥ 1 nor ``auto``."""


def parse_slots(value: str | None) -> Slots:
    """``value`` as a slot count; unset or empty means ``auto``.

    >>> parse_slots("4"), parse_slots(" Auto "), parse_slots(None)
    (4, 'auto', 'auto')
    """
    text = (value or "").strip().lower()
    if text in ("", AUTO):
        return AUTO
    if not (text.isascii() and text.isdigit()):
        raise SlotsError(f"{ENV} must be a whole number ≥ 1 or {AUTO}, not {value!r}")
    slots = int(text)
    if slots < 1:
        raise SlotsError(f"{ENV} must be at least 1 (or {AUTO}), not {slots}")
    return slots
