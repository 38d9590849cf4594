"""The container engine (Docker or Podman) as every command uses it.

``engine`` detects it (SCENARIO6_CONTAINER_RUNTIME, else docker, else podman), is the one
client for its CLI (which keeps secrets out of the CLI's environment) and words each problem
with its fix; ``build`` assembles and runs image builds; ``images`` asks about built
images; ``labels`` names what ``scenario6 run`` marks its containers with.
"""

from .build import BuildError, BuiltImage, build_command, build_failure, build_image
from .engine import ContainerRuntime, RuntimeUnavailable, nvidia_support
from .images import ImageMissing, image_exists, image_size

__all__ = [
    "BuildError",
    "BuiltImage",
    "ContainerRuntime",
    "ImageMissing",
    "RuntimeUnavailable",
    "build_command",
    "build_failure",
    "build_image",
    "image_exists",
    "image_size",
    "nvidia_support",
]
