"""The backend kinds: what ``MOSHI_BACKEND``, ``--backend`` and the app model choose from.

The one list every layer reads (the container entrypoint, ``scenario6 run``, ``publish``,
``doctor``, ``apphost.py``), with the ``moshi/Dockerfile`` target each kind runs in. Standard
library only: the backend images carry this package.
"""

from __future__ import annotations

from typing import Final, Literal

Backend = Literal["personaplex", "loopback", "batched"]

PERSONAPLEX: Final = "personaplex"  # PersonaPlex-7B, one conversation at a time
LOOPBACK: Final = "loopback"  # the stand-in: upstream's protocol, no model
BATCHED: Final = "batched"  # PersonaPlex-7B holding several conversations in one batch

BACKENDS: Final[tuple[Backend, ...]] = (PERSONAPLEX, LOOPBACK, BATCHED)
# The kinds that run the model: they need its weights (HF_TOKEN or a model folder) and a
# GPU, load for minutes, and have no /health route.
MODEL_BACKENDS: Final[frozenset[Backend]] = frozenset({PERSONAPLEX, BATCHED})

IMAGE_TARGETS: Final[dict[Backend, str]] = {
    PERSONAPLEX: "personaplex",
    LOOPBACK: "loopback",
    BATCHED: "personaplex-batched",
}
