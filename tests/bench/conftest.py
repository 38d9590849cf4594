from tests.support.docker import base_image, docker
from tests.support.personaplex.fixtures import tiny_personaplex

__all__ = ["base_image", "docker", "tiny_personaplex"]
