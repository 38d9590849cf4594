"""The tiny random PersonaPlex model: its files, as a flat folder and as a Hugging Face cache.

``model_files.py`` writes the weights, tokenizer, voice prompts and ``architecture.json`` with
the server's own interpreter. They are then laid out twice with hard links (no second copy):

- ``model/``: for ``--moshi-weight --mimi-weight --tokenizer --voice-prompt-dir --static none``;
- ``hf/``: an ``HF_HOME`` holding ``nvidia/personaplex-7b-v1``, so that the unchanged command
  line starts with ``HF_HUB_OFFLINE=1``. The server reads ``config.json`` from it on every
  start, so the flat layout needs it too.

Test support only; the same inputs always give the same files.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

from scenario6.backend import architecture
from scenario6.backend.model_folder import HF_REPO, LM_WEIGHTS, MIMI_WEIGHTS, TOKENIZER, VOICES

from .cache import build_once, cache_root, digest
from .environment import REPO, Log

SEED = 0
SCRIPT = Path(__file__).with_name("model_files.py")
STATIC_PAGE = b"<!doctype html><title>PersonaPlex (tiny test model)</title>\n"


def model_root(venv_key: str) -> Path:
    inputs = (venv_key, SCRIPT.read_bytes(), Path(__file__).read_bytes())
    key = digest(*inputs, json.dumps(architecture.TINY, sort_keys=True), str(SEED))
    return cache_root() / f"model-{key}"


def ensure_model(python: Path, root: Path, log: Log = print) -> Path:
    if not root.is_dir():
        log(f"personaplex: writing the tiny random model into {root} (once; seconds)")
    return build_once(root, lambda folder: _build(python, folder, log))


def write_files(python: Path, folder: Path, seed: int = SEED) -> None:
    """Runs ``model_files.py`` under the server's interpreter: weights, tokenizer, voices."""
    done = subprocess.run(
        [str(python), str(SCRIPT), str(folder), "--seed", str(seed)],
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def _build(python: Path, root: Path, log: Log) -> None:
    started = time.monotonic()
    flat = root / "model"
    write_files(python, flat)
    (flat / "config.json").write_text(_config(), encoding="utf-8")
    _hugging_face_cache(flat, root / "hf")
    log(f"personaplex: model ready in {time.monotonic() - started:.0f}s")


def _config() -> str:
    described = {"model": "tiny random PersonaPlex for tests", "architecture": architecture.TINY}
    return json.dumps(described, indent=2, sort_keys=True) + "\n"


def _hugging_face_cache(flat: Path, hf_home: Path) -> None:
    """``HF_HOME`` with one snapshot of the repository, as ``hf_hub_download`` leaves it."""
    files = [LM_WEIGHTS, MIMI_WEIGHTS, TOKENIZER, "config.json"]
    revision = digest(*(flat.joinpath(name).read_bytes() for name in files)).ljust(40, "0")
    repo = hf_home / "hub" / f"models--{HF_REPO.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    for name in files:
        os.link(flat / name, snapshot / name)
    voices = sorted((flat / VOICES).iterdir())
    (snapshot / "voices.tgz").write_bytes(
        _tgz({f"voices/{v.name}": v.read_bytes() for v in voices})
    )
    (snapshot / "dist.tgz").write_bytes(_tgz({"dist/index.html": STATIC_PAGE}))
    # Unpacked already, as the server leaves them after its first start: it then never writes
    # into the shared cache.
    (snapshot / VOICES).mkdir()
    for voice in voices:
        os.link(voice, snapshot / VOICES / voice.name)
    (snapshot / "dist").mkdir()
    (snapshot / "dist" / "index.html").write_bytes(STATIC_PAGE)


def _tgz(members: dict[str, bytes]) -> bytes:
    """A gzipped tar whose bytes depend only on the members (no times, owners or modes)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for folder in sorted({name.split("/")[0] for name in members}):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)
