"""The report's chart is a real PNG of the promised size, also when figures are missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from scenario6.bench.chart import render_chart
from tests.bench.results import results

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
