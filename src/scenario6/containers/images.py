"""Images the engine already has: whether one exists, how big it is, its id."""

from __future__ import annotations

from .engine import ContainerRuntime


class ImageMissing(RuntimeError):
    """The engine has no image by that name."""


def image_exists(runtime: ContainerRuntime, tag: str) -> bool:
    return runtime.run("image", "inspect", tag, timeout=60).returncode == 0


def image_size(runtime: ContainerRuntime, tag: str) -> int:
    """The image's uncompressed size in bytes, as ``docker images`` reports it."""
    result = runtime.run("image", "inspect", "--format", "{{.Size}}", tag, timeout=60)
    if result.returncode != 0:
        raise ImageMissing(f"{runtime.name} has no image {tag}: {result.stderr.strip()}")
    return int(result.stdout.strip())
