"""The report's chart is a real PNG of the promised size, also when figures are missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from scenario6.bench.batch import summarise
from scenario6.bench.chart import render_chart
from tests.bench.results import batch_probe_output, results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pixels(path: Path) -> np.ndarray:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == (1800, 800)
        return np.asarray(image.convert("L"))


def test_the_chart_is_a_1800_by_800_png_with_ink_in_every_panel(tmp_path: Path) -> None:
    path = render_chart(results(), tmp_path / "performance.png", title="a title")
    pixels = _pixels(path)
    # Each sixth holds a panel (the batch panel two of them): something is drawn in every one
    # of them, not a blank page.
    for rows in (slice(0, 400), slice(400, 800)):
        for columns in (slice(0, 600), slice(600, 1200), slice(1200, 1800)):
            assert (pixels[rows, columns] < 128).mean() > 0.005


def test_nothing_measured_still_draws_a_chart(tmp_path: Path) -> None:
    nothing = {name: {"not_measured": "no Docker engine answers"} for name in results()}
    pixels = _pixels(render_chart(nothing, tmp_path / "empty.png"))
    assert (pixels < 128).mean() > 0.001  # the reasons are written into the panels


def test_a_batch_panel_whose_frames_fall_behind_seconds_still_draws(tmp_path: Path) -> None:
    raw = batch_probe_output()
    raw["levels"][-1]["join"]["others_late_ms"] = [1500.0] * 30  # the others fell behind
    chart = render_chart(results() | {"batch": summarise(raw)}, tmp_path / "behind.png")
    pixels = _pixels(chart)
    assert (pixels[400:800, 600:1800] < 128).mean() > 0.005
