"""The report's Markdown, rendered from a fixed result: sections, columns, machine, gaps."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from scenario6.bench.catalog import NAMES, sections
from scenario6.bench.report import render_markdown
from scenario6.cli.bench import available
from tests.bench.results import MACHINE, results

WHEN = datetime(2026, 11, 26, 7, 5, tzinfo=timezone.utc)


def _table_rows(markdown: str, title: str) -> dict[str, list[str]]:
    """The rows of the table under ``## title``, by figure label."""
    part = markdown.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in part.splitlines():
        if line.startswith("| ") and not line.startswith("| figure"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
    return rows


def test_every_section_has_a_min_median_max_table() -> None:
    markdown = render_markdown(results(), MACHINE, WHEN)
    titles = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    assert titles == ["Machine"] + [section.title for section in sections(results())]
    assert len(titles) == len(NAMES) + 1
    assert markdown.count("| figure | min | median | max | samples | notes |") == len(NAMES)


def test_figures_show_their_spread_and_sample_count() -> None:
    markdown = render_markdown(results(), MACHINE, WHEN)
    reload = _table_rows(markdown, "Reload: a frontend edit until the new code answers")
    edit = reload["edit → served, `scenario6 run`"]
    assert edit[:4] == ["0.103 s", "0.147 s", "0.177 s", "3 edits"]
    # One sample is one value, not a pretend spread.
    assert reload["`scenario6 run` first start, native loopback backend"][:4] == [
        "—", "3.20 s", "—", "1 start",
    ]  # fmt: skip
    proxy = _table_rows(markdown, "Session proxy: added latency and capacity")
    busy = proxy["round trip, 200 sessions, through the proxy"]
    assert busy[:3] == ["1.10 ms", "2.20 ms", "44.0 ms"]
    assert "p99 28.1 ms" in busy[4]
    assert "**200**" in markdown
    soak = _table_rows(markdown, "Soak: many sessions for a while")
    memory = soak["frontend resident memory"]
    assert memory[:4] == ["71.0 MiB", "71.2 MiB", "71.4 MiB", "54 samples, 1 a second"]


def test_what_was_not_measured_says_why() -> None:
    markdown = render_markdown(results(), MACHINE, WHEN)
    reload = _table_rows(markdown, "Reload: a frontend edit until the new code answers")
    container = reload["`scenario6 run` start → healthy, warm, loopback backend container"]
    assert container[1] == "not measured: no Docker engine answers"
    browser = _table_rows(markdown, "Browser: the web client's audio latency")
    assert browser["round trip (echo)"][1] == "not measured: the client recorded no samples"
    images = _table_rows(markdown, "Images: sizes and build times")
    assert images == {"every figure": ["", "not measured: no Docker engine answers", "", "", ""]}
    silent = results()
    silent["proxy"]["levels"][0] |= {"samples": 0, "rtt_ms_min": float("nan")}
    proxy = _table_rows(
        render_markdown(silent, MACHINE, WHEN), "Session proxy: added latency and capacity"
    )
    assert proxy["round trip, 1 session, direct"][1] == "not measured: no frame came back"
    # Nothing is filled in for a benchmark that is missing from the results altogether.
    partial = {key: value for key, value in results().items() if key != "soak"}
    soak = _table_rows(render_markdown(partial, MACHINE, WHEN), "Soak: many sessions for a while")
    assert soak == {"every figure": ["", "not measured: not run", "", "", ""]}


def test_machine_and_date_are_stated() -> None:
    later = WHEN.astimezone(timezone(timedelta(hours=2)))  # shown in UTC whatever the zone
    markdown = render_markdown(results(), MACHINE, later)
    assert "on 2026-11-26 07:05 UTC" in markdown
    machine = markdown.split("## Machine", 1)[1].split("\n## ", 1)[0]
    assert (
        "**Machine:** 2 × Example CPU 9000, 23.5 GiB RAM, Debian GNU/Linux 12 (bookworm), "
        "Linux 6.1.0-28-amd64"
    ) in machine
    assert "Python 3.11.2; container engine Docker 20.10.24; Chromium 131.0.6778.85" in machine
    assert "at the start: 0.31 / 0.52 / 0.60; at the end: 1.75 / 1.20 / 0.90" in machine


def test_chart_and_quick_run_are_mentioned_only_when_so() -> None:
    full = render_markdown(results(), MACHINE, WHEN)
    assert "](performance.png)" in full
    assert "Quick run" not in full
    quick = render_markdown(results(), MACHINE, WHEN, quick=True, chart=None)
    assert ".png" not in quick
    assert "**Quick run**" in quick


def test_a_backend_image_built_elsewhere_is_sized_but_not_timed() -> None:
    """SCENARIO6_BACKEND_IMAGE names an image bench did not build: its size is a figure,
    its build time is not, and it is no longer listed as not built."""
    result = results()
    result["images"] = {
        "benchmark": "images",
        "base_image": "base:tag",
        "base_image_mb": 191.0,
        "images": [
            {
                "name": "frontend",
                "tag": "scenario6-frontend:bench",
                "size_mb": 231.0,
                "added_to_base_mb": 40.0,
                "build_s": 0.1,
                "target_mb": 200.0,
            },
            {
                "name": "backend",
                "tag": "scenario6-personaplex:cpu",
                "size_mb": 1320.0,
                "added_to_base_mb": None,
                "build_s": None,
                "target_mb": None,
            },
        ],
        "not_built": [],
    }
    rows = _table_rows(render_markdown(result, MACHINE, WHEN), "Images: sizes and build times")
    assert rows["backend image size"][1] == "1,320 MB"
    assert "`scenario6-personaplex:cpu`, built elsewhere" in rows["backend image size"][4]
    assert "backend image build (Docker's cache applies)" not in rows
    assert "frontend image build (Docker's cache applies)" in rows


def test_every_benchmark_that_runs_by_name_has_one_record_in_the_catalog() -> None:
    """`scenario6 bench NAME` offers each benchmark module; the suite, the report and the
    chart know a benchmark only by its record, so none may be left out."""
    assert sorted(NAMES) == available()
