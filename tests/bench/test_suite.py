"""``scenario6 bench --quick``: every benchmark for real (Docker builds, Chromium), one report."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from scenario6.bench.browser import CHROMIUM
from scenario6.bench.catalog import BY_NAME, NAMES
from scenario6.bench.figures import number
from tests.conftest import require_tool
from tests.support.docker import run_bench
from tests.support.personaplex import TinyPersonaPlex

pytestmark = [pytest.mark.docker, pytest.mark.browser]

FIGURE = re.compile(r"\| [\d,.]+ (s|ms|MB|MiB|%)? ?\|")


def test_a_quick_run_writes_a_report_with_figures_from_every_benchmark(
    base_image: str, tiny_personaplex: TinyPersonaPlex, tmp_path: Path
) -> None:
    require_tool("chromium", CHROMIUM)
    output = tmp_path / "report"
    result = run_bench(base_image, "--quick", "--json", "--output", str(output))
    assert result.returncode == 0, result.stderr[-4000:]
    for index, name in enumerate(NAMES, 1):
        assert f"[{index}/{len(NAMES) + 1}] {name}: " in result.stderr
    combined = json.loads(result.stdout)  # progress went to stderr: stdout is one object
    assert list(combined["results"]) == list(NAMES)
    assert combined["quick"] is True
    assert combined["machine"]["cpu_count"] == os.cpu_count()

    markdown = (output / "PERFORMANCE.md").read_text()
    assert "not measured" not in markdown, markdown
    assert "**Quick run**" in markdown
    for name in NAMES:
        section = markdown.split(f"## {BY_NAME[name].title}", 1)[1].split("\n## ", 1)[0]
        figures = FIGURE.findall(section)
        assert len(figures) >= 3, (name, section)
    # The figures in the text are the ones the run measured.
    edit = combined["results"]["reload"]["run_mode_edit"]
    spread = " | ".join(f"{number(edit[key])} s" for key in ("min_s", "p50_s", "max_s"))
    assert f"| edit → served, `scenario6 run` | {spread} | 3 edits |" in markdown

    # The raw figures are kept beside the report, the same as printed.
    assert json.loads((output / "performance.json").read_text()) == combined

    with Image.open(output / "performance.png") as chart:
        assert (chart.format, chart.size) == ("PNG", (1800, 800))
