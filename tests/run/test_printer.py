"""The supervisor's output: names padded to the longest, whatever the app model holds."""

from __future__ import annotations

import io

from scenario6.run.printer import Printer


def test_names_added_later_widen_the_column_and_none_keep_it() -> None:
    out = io.StringIO()
    printer = Printer(out, names=["web"], colour=False)
    printer.add_names([])  # an app model without resources
    printer.line("web", "ready")
    printer.add_names(["scenario6-moshi"])
    printer.line("web", "again")
    assert out.getvalue().splitlines() == ["web | ready", "web             | again"]
