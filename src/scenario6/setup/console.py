"""Status marks for terminal output, with ASCII stand-ins where the console cannot show them."""

from __future__ import annotations

import sys
from typing import TextIO

_MARKS = {"ok": ("✓", "OK"), "fail": ("✗", "X"), "warn": ("!", "!"), "info": ("→", "->")}


def mark(kind: str, stream: TextIO | None = None) -> str:
    """``✓``/``✗``/``!``/``→``; plain ASCII on consoles whose encoding lacks them (old Windows)."""
    fancy, plain = _MARKS[kind]
    encoding = getattr(stream or sys.stdout, "encoding", None) or "ascii"
    try:
        fancy.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return plain
    return fancy
