"""``scenario6 bench NAME --output DIR``: one benchmark measured into the report already in DIR."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from scenario6.bench.catalog import NAMES
from scenario6.bench.report import CHART, MARKDOWN, RESULTS, render_markdown
from scenario6.bench.suite import write_report
from tests.bench.results import MACHINE, results

WHEN = datetime(2026, 11, 26, 7, 5, tzinfo=timezone.utc)


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scenario6", "bench", *args]
    # Generous: the quick proxy run takes seconds; only a hang should reach it.
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def _sections(markdown: str) -> list[str]:
    return re.split(r"(?m)^(?=## )", markdown)


def test_one_benchmark_measured_into_a_report_keeps_the_other_sections(tmp_path: Path) -> None:
    write_report(results(), MACHINE, WHEN, tmp_path, quick=False)
    before = (tmp_path / MARKDOWN).read_text()
    chart_before = (tmp_path / CHART).read_bytes()
    done = _bench("proxy", "--quick", "--proxy-sessions", "1", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    after = (tmp_path / MARKDOWN).read_text()
    combined = json.loads((tmp_path / RESULTS).read_text())

    measured = combined["results"]["proxy"]
    assert [level["sessions"] for level in measured["levels"]] == [1, 1]
    assert {name: result for name, result in combined["results"].items() if name != "proxy"} == (
        {name: result for name, result in results().items() if name != "proxy"}
    )
    index = 2 + NAMES.index("proxy")  # the report's head and the machine come first
    old, new = _sections(before), _sections(after)
    assert new[:index] == old[:index] and new[index + 1 :] == old[index + 1 :]
    assert "| round trip, 1 session, through the proxy |" in new[index]
    assert "| round trip, 200 sessions" not in new[index]
    assert (
        "apart from the rest of this report (a quick run, `scenario6 bench proxy --output`)"
        in (new[index])
    )
    # The section is what the report renders from the figures kept beside it.
    assert _sections(render_markdown(combined["results"], MACHINE, WHEN))[index] == new[index]
    # The chart is drawn again from them: it shows the proxy figures just measured.
    assert (tmp_path / CHART).read_bytes() != chart_before
    assert f"drew {tmp_path / CHART} again" in done.stdout


def test_without_a_report_to_put_it_in_nothing_is_measured(tmp_path: Path) -> None:
    done = _bench("proxy", "--quick", "--output", str(tmp_path))
    assert done.returncode == 2
    assert f"no report in {tmp_path} to put proxy into" in done.stderr
    assert list(tmp_path.iterdir()) == []
