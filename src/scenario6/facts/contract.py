"""The backend image's contract: how to tell it is ready, where it keeps its files, and the
volumes that hold them.

``moshi/Dockerfile`` builds the image to it; the app model (``apphost.py``), the image's
entrypoint and health probe, ``publish``, ``doctor`` and the tests read it from here, so a
change to the image is a change to this module. Standard library only: the backend images
carry this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .kinds import BACKENDS, LOOPBACK

# The model cache (HF_HOME): the folder the image creates for its user, kept on a named
# volume, since a volume mounted anywhere else would belong to root.
HF_HOME: Final = "/data/hf"
CACHE_VOLUME: Final = "scenario6-hf-cache"

# A folder with the model's files (scenario6.backend.model_folder), mounted read-only:
# a bind mount in run mode, a volume of this name in published files.
MODEL_MOUNT: Final = "/models/personaplex"
MODEL_VOLUME: Final = "scenario6-personaplex-model"

# With MOSHI_USE_SSL the entrypoint keeps (or makes) cert.pem, key.pem and ca.pem here
# (MOSHI_SSL_DIR); clients are told to trust the ca.pem.
# On SIGTERM a server that holds conversations (the frontend, the batched backend) lets them
# go on this long before it closes them; publish gives each a grace period a little longer.
DRAIN_TIMEOUT_S: Final = 120.0

CERTS_DIR: Final = "/data/certs"
CA_FILE: Final = f"{CERTS_DIR}/ca.pem"

# The image's own health probe (its HEALTHCHECK), which checks the readiness below.
PROBE: Final = ("python", "-m", "scenario6.backend.healthcheck")


@dataclass(frozen=True)
class Readiness:
    """The HTTP answer that says a backend is ready: ``status`` for a GET of ``path``.

    >>> readiness("personaplex")
    Readiness(path='/health', status=404)
    """

    path: str
    status: int


# PersonaPlex (alone or batched) has no health route and opens its port only once the model
# is loaded and warmed up: its 404 for /health is the sign that it is ready. The loopback
# backend answers /health itself.
_MODEL_READY: Final = Readiness("/health", 404)
READINESS: Final[dict[str, Readiness]] = {
    kind: Readiness("/health", 200) if kind == LOOPBACK else _MODEL_READY for kind in BACKENDS
}


def readiness(kind: str) -> Readiness:
    """How the backend of ``kind`` says it is ready (``KeyError`` for an unknown kind)."""
    return READINESS[kind]
