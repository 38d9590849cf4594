"""The project's two images, built once per test session from the local base image."""

from __future__ import annotations

import pytest

from tests.support.docker import BuiltImage, base_image, build_image, docker

__all__ = ["base_image", "docker"]

FRONTEND_TAG = "scenario6-frontend:test"
LOOPBACK_TAG = "scenario6-loopback:test"


@pytest.fixture(scope="session")
def frontend_image(base_image: str) -> BuiltImage:
    return build_image(FRONTEND_TAG, base_image)


@pytest.fixture(scope="session")
def loopback_image(base_image: str) -> BuiltImage:
    return build_image(LOOPBACK_TAG, base_image, dockerfile="moshi/Dockerfile", target="loopback")
