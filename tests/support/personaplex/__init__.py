"""Test support only: the real PersonaPlex server on a CPU, with a tiny random model.

The server code is NVIDIA's, unchanged, installed in a venv of its own; the model has the real
file formats and protocol but random weights and a fraction of the size, so it says nothing
meaningful. Both are cached under ``~/.cache/scenario6/personaplex/``.
``python -m tests.support.personaplex`` builds them and prints how to start the server.
"""

from .server import PersonaPlexProcess, personaplex_server
from .tiny import BATCHED, UPSTREAM, TinyPersonaPlex

__all__ = ["BATCHED", "UPSTREAM", "PersonaPlexProcess", "TinyPersonaPlex", "personaplex_server"]
