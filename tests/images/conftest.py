"""The project's images, built once per test session from the local base image."""

from tests.support.docker import base_image, docker, frontend_image, loopback_image
from tests.support.personaplex.fixtures import tiny_personaplex
from tests.support.personaplex_image import batched_image, personaplex_image

__all__ = [
    "base_image",
    "batched_image",
    "docker",
    "frontend_image",
    "loopback_image",
    "personaplex_image",
    "tiny_personaplex",
]
