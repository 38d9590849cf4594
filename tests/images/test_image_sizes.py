"""Image sizes and build times, printed for the record (targets live in the benchmark)."""

from __future__ import annotations

import json

import pytest

from scenario6.containers import BuiltImage, image_size
from tests.support.docker import DOCKER, run_bench

pytestmark = pytest.mark.docker


def test_image_sizes_are_reported(
    frontend_image: BuiltImage,
    loopback_image: BuiltImage,
    base_image: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base_mb = image_size(DOCKER, base_image) / 1e6
    with capsys.disabled():
        print(f"\n  base {base_image}: {base_mb:.1f} MB")
        for image in (frontend_image, loopback_image):
            print(
                f"  {image.tag}: {image.size_mb:.1f} MB "
                f"({image.size_mb - base_mb:.1f} MB on the base), build {image.seconds:.1f} s"
            )
    assert frontend_image.size_mb > base_mb
    assert loopback_image.size_mb > frontend_image.size_mb  # it adds numpy and the codec


def test_bench_images_prints_one_json_object(
    base_image: str, frontend_image: BuiltImage, loopback_image: BuiltImage
) -> None:
    # After the fixtures' builds every layer is cached, so this measures a cached rebuild.
    result = run_bench(base_image, "images", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["benchmark"] == "images"
    assert summary["base_image"] == base_image
    assert summary["engine"] == "docker"
    sizes = {row["name"]: row["size_mb"] for row in summary["images"]}
    assert sizes["frontend"] == pytest.approx(frontend_image.size_mb, abs=0.2)
    assert sizes["loopback"] == pytest.approx(loopback_image.size_mb, abs=0.2)
