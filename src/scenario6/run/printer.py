"""Everything the supervisor shows: aligned ``name | line`` logs, notices, the resource table."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

_COLOURS = (36, 33, 32, 35, 34, 91, 92, 93, 94, 95, 96)


class Printer:
    """Multiplexes output like ``docker compose``: names padded, colour only on a terminal.

    >>> import io; out = io.StringIO(); p = Printer(out, names=["web", "backend"])
    >>> p.line("web", "ready"); out.getvalue()
    'web     | ready\\n'
    """

    def __init__(
        self, stream: TextIO | None = None, names: Sequence[str] = (), colour: bool | None = None
    ) -> None:
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.width = max((len(n) for n in names), default=0)
        self._colours: dict[str, int] = {}

    def add_names(self, names: Sequence[str]) -> None:
        self.width = max([self.width, *(len(n) for n in names)])

    def _paint(self, text: str, code: int) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text

    def line(self, name: str, text: str) -> None:
        code = self._colours.setdefault(name, _COLOURS[len(self._colours) % len(_COLOURS)])
        prefix = self._paint(f"{name:<{self.width}} |", code)
        self._write(f"{prefix} {text.rstrip()}")

    def info(self, text: str) -> None:
        self._write(self._paint(f"scenario6: {text}", 1))

    def warn(self, text: str) -> None:
        self._write(self._paint(f"scenario6: warning: {text}", 33))

    def error(self, text: str) -> None:
        self._write(self._paint(f"scenario6: error: {text}", 31))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

        def fmt(cells: Sequence[str]) -> str:
            return "  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)).rstrip()

        self._write(self._paint(fmt(header), 1))
        for row in rows:
            self._write(fmt(row))

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
