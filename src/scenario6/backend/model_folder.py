"""A local PersonaPlex model folder: the files the server would otherwise download.

``MOSHI_MODEL_DIR`` names a folder with upstream's own file names, for hosts without Hugging
Face access (air-gapped GPU hosts, a CPU run with a small test model)::

    model.safetensors                              the LM
    tokenizer-e351c8d8-checkpoint125.safetensors   Mimi, the audio codec
    tokenizer_spm_32k_3.model                      the text tokenizer
    voices/                                        the voice prompts (NATF2.pt, ...)
    architecture.json                              optional: a model of another size

The server then starts from those files with the Hugging Face Hub offline, so nothing is
fetched and no token is needed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from scenario6.backend import architecture
from scenario6.backend.moshi_main import ENVIRONMENT_VARIABLE as ARCHITECTURE_VARIABLE

LM_WEIGHTS = "model.safetensors"
MIMI_WEIGHTS = "tokenizer-e351c8d8-checkpoint125.safetensors"
TOKENIZER = "tokenizer_spm_32k_3.model"
VOICES = "voices"
HF_REPO = "nvidia/personaplex-7b-v1"
# Any 40-hex revision works offline: the cache maps "main" to it.
_REVISION = "0" * 40


@dataclass(frozen=True)
class ModelFolder:
    """The model files in ``path``.

    >>> ModelFolder(Path("/models/pp")).server_args()[:2]
    ['--moshi-weight', '/models/pp/model.safetensors']
    """

    path: Path

    def missing(self) -> list[str]:
        """The required files (or the voices folder) that are not there."""
        wanted = {LM_WEIGHTS: Path.is_file, MIMI_WEIGHTS: Path.is_file, TOKENIZER: Path.is_file}
        found = [name for name, exists in wanted.items() if not exists(self.path / name)]
        if not (self.path / VOICES).is_dir():
            found.append(f"{VOICES}/")
        return found

    @property
    def architecture(self) -> Path | None:
        path = self.path / architecture.FILENAME
        return path if path.is_file() else None

    def server_args(self, voices: str | None = None) -> list[str]:
        """moshi.server's local-file flags; ``voices`` replaces the folder's own voices."""
        return [
            "--moshi-weight",
            str(self.path / LM_WEIGHTS),
            "--mimi-weight",
            str(self.path / MIMI_WEIGHTS),
            "--tokenizer",
            str(self.path / TOKENIZER),
            "--voice-prompt-dir",
            voices or str(self.path / VOICES),
        ]

    def offline_env(self, cache: Path, repo: str | None = None) -> dict[str, str]:
        """The server's extra environment: the Hub offline, a cache it can start from.

        Upstream fetches ``config.json`` from the Hub on every start, even with every file
        given locally (a download counter; it never reads the file). Offline, that succeeds
        only from a cache: ``cache`` gets one holding the folder's ``config.json`` (or an
        empty one), so the user's own model cache is left alone.
        """
        repo = repo or HF_REPO
        entry = cache / f"models--{repo.replace('/', '--')}"
        snapshot = entry / "snapshots" / _REVISION
        snapshot.mkdir(parents=True, exist_ok=True)
        (entry / "refs").mkdir(exist_ok=True)
        (entry / "refs" / "main").write_text(_REVISION)
        config = self.path / "config.json"
        if config.is_file():
            shutil.copyfile(config, snapshot / "config.json")
        else:
            (snapshot / "config.json").write_text(json.dumps({}))
        env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}
        if self.architecture is not None:
            env[ARCHITECTURE_VARIABLE] = str(self.architecture)
        return env
