from tests.support.docker import base_image, docker

__all__ = ["base_image", "docker"]
