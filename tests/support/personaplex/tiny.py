"""Where the tiny PersonaPlex lives on this machine, and how to build what is missing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scenario6.backend import architecture
from scenario6.backend.model_folder import ModelFolder
from scenario6.backend.moshi_main import ENVIRONMENT_VARIABLE

from . import environment, model
from .environment import REPO, Log

UPSTREAM = "scenario6.backend.moshi_main"  # upstream's server, unchanged
BATCHED = "scenario6.backend.batched"  # several conversations on one model


@dataclass(frozen=True)
class TinyPersonaPlex:
    """The real PersonaPlex server's interpreter and a tiny random model for it.

    >>> tiny = TinyPersonaPlex.default().ensure()  # doctest: +SKIP
    >>> tiny.server_command(["--port", "8998"], layout="flat")  # doctest: +SKIP
    """

    venv: Path
    root: Path

    @classmethod
    def default(cls) -> TinyPersonaPlex:
        venv = environment.venv_dir()
        return cls(venv=venv, root=model.model_root(venv.name))

    @property
    def python(self) -> Path:
        return environment.python_of(self.venv)

    @property
    def model_dir(self) -> Path:
        """The flat folder: weights, tokenizer, ``voices/``, ``architecture.json``."""
        return self.root / "model"

    @property
    def hf_home(self) -> Path:
        """An ``HF_HOME`` holding ``nvidia/personaplex-7b-v1`` (use with ``HF_HUB_OFFLINE=1``)."""
        return self.root / "hf"

    @property
    def architecture(self) -> Path:
        return self.model_dir / architecture.FILENAME

    @property
    def built(self) -> bool:
        return self.venv.is_dir() and self.root.is_dir()

    def unavailable(self) -> str | None:
        """Why it cannot be built here (no source, no network), or None."""
        return None if self.built else environment.unavailable()

    def ensure(self, log: Log = print) -> TinyPersonaPlex:
        """Builds the venv and the model unless cached; returns itself."""
        python = environment.ensure_environment(log)
        model.ensure_model(python, self.root, log)
        return self

    def flat_arguments(self) -> list[str]:
        """The weight flags that point the server at the flat folder."""
        return ModelFolder(self.model_dir).server_args()

    def environment(self) -> dict[str, str]:
        """What the server process needs: the architecture, the offline cache, one thread.

        One thread: with two, a frame's time jumps from ~20 ms to hundreds under load here.
        """
        return {
            ENVIRONMENT_VARIABLE: str(self.architecture),
            "HF_HOME": str(self.hf_home),
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(REPO / "src"),
            "PYTHONUNBUFFERED": "1",
        }

    def server_command(
        self, arguments: list[str], layout: str = "flat", module: str = UPSTREAM
    ) -> list[str]:
        """``python -m scenario6.backend.moshi_main`` (or ``module``: the batched server) with
        ``arguments`` and the layout's flags.

        ``flat`` passes the weight flags and ``--static none``; ``hf`` passes none of them, as
        upstream's documented command line does, and the server finds everything in the cache.
        """
        if layout not in ("flat", "hf"):
            raise ValueError(f"layout is 'flat' or 'hf', not {layout!r}")
        extra = [*self.flat_arguments(), "--static", "none"] if layout == "flat" else []
        return [str(self.python), "-m", module, *arguments, *extra]
