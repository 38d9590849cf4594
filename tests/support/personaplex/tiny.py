"""Where the tiny PersonaPlex lives on this machine, and how to build what is missing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from scenario6.backend import architecture
from scenario6.backend.model_folder import ModelFolder
from scenario6.backend.moshi_main import ENVIRONMENT_VARIABLE

from . import environment, model
from .cache import build_once
from .environment import REPO, Log

UPSTREAM = "scenario6.backend.moshi_main"  # upstream's server, unchanged
BATCHED = "scenario6.backend.batched"  # several conversations on one model

# The short-context variant: the LM attends to 50 frames (4 s at 12.5 Hz; the 7B model's 3000
# are 4 minutes), Mimi's transformers to 20 of their 25 Hz steps (0.8 s; the 7B codec's 250
# are 10 s), so a call outgrows both within seconds. The weights do not depend on either.
SHORT_LM_CONTEXT = 50
SHORT_MIMI_CONTEXT = 20


@dataclass(frozen=True)
class TinyPersonaPlex:
    """The real PersonaPlex server's interpreter and a tiny random model for it.

    >>> tiny = TinyPersonaPlex.default().ensure()  # doctest: +SKIP
    >>> tiny.server_command(["--port", "8998"], layout="flat")  # doctest: +SKIP
    """

    venv: Path
    root: Path
    contexts: tuple[int, int] | None = None  # (LM frames, Mimi steps); None: the model's own

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
        """The sizes the server applies: the model's own, or the short-context variant's."""
        if self.contexts is None:
            return self.model_dir / architecture.FILENAME
        lm, mimi = self.contexts
        return self.root.with_name(f"{self.root.name}-context-{lm}-{mimi}") / architecture.FILENAME

    def short_context(
        self, lm: int = SHORT_LM_CONTEXT, mimi: int = SHORT_MIMI_CONTEXT
    ) -> TinyPersonaPlex:
        """The same model and weights with shorter attention contexts (built by ensure)."""
        return replace(self, contexts=(lm, mimi))

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
        if self.contexts is not None:
            build_once(self.architecture.parent, self._write_contexts)
        return self

    def _write_contexts(self, folder: Path) -> None:
        """The model's own sizes with the contexts replaced, whatever those sizes are."""
        assert self.contexts is not None
        lm, mimi = self.contexts
        sizes = architecture.load(self.model_dir / architecture.FILENAME)
        sizes.setdefault("_lm_kwargs", {})["context"] = lm
        sizes.setdefault("_transformer_kwargs", {})["context"] = mimi
        folder.mkdir()
        architecture.dump(folder / architecture.FILENAME, sizes)

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
