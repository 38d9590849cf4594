"""The real PersonaPlex server's own virtual environment, built once and cached.

Its pins clash with the project's (aiohttp, numpy, sphn, huggingface-hub), so it gets a venv of
its own: the CPU torch wheel, the fork at the pinned commit without its dependencies (it asks
for torch<2.5), then its declared requirements pinned inside its ranges, and the two it
imports without declaring. Test support only.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .cache import build_once, cache_root, digest

REPO = Path(__file__).resolve().parents[3]
COMMIT = "3428dfd95309a7f3c84fd93259ded0f810d1ff91"
VENDORED = REPO.parent / "shared" / "vendor" / "personaplex-moshi-3428dfd.tar.gz"
VENDORED_SHA256 = "e207d12da0abdb9ad723f1fed6a40ce2fb931c42e172470273d68c14a9d4138c"
VENDORED_PROJECT = "personaplex-3428dfd/moshi"
GIT_REQUIREMENT = f"moshi @ git+https://github.com/NVIDIA/personaplex@{COMMIT}#subdirectory=moshi"
# The CPU build: a plain ``torch`` or a range admitting a newer one pulls a CUDA build of
# several GB. PIP_FIND_LINKS names a folder that holds this wheel on the test machines.
TORCH = "torch==2.13.0"
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
REQUIREMENTS = (
    # Declared by the fork (moshi/requirements.txt), pinned inside its ranges.
    "numpy==2.1.3",
    "safetensors==0.4.5",
    "huggingface-hub==0.24.7",
    "einops==0.7.0",
    "sentencepiece==0.2.0",
    "sounddevice==0.5.0",
    "sphn==0.1.12",
    "aiohttp==3.10.11",
    # Imported without being declared: .wav voice prompts, --cpu-offload.
    "pyloudnorm==0.1.1",
    "accelerate==1.0.1",
    # The batched server's metrics (scenario6.backend.metrics), as in the backend image.
    "prometheus-client==0.26.0",
)
# The venv is made with the interpreter running the tests; torch's CPU wheel for it comes
# from PIP_FIND_LINKS when a folder there has one (this machine kind: CPython 3.11), else
# from PyTorch's CPU index.
PYTHON = sys.version_info[:2]

Log = Callable[[str], None]


def source() -> str:
    """Where the fork comes from: the vendored archive when present, else GitHub."""
    return str(VENDORED) if VENDORED.exists() else GIT_REQUIREMENT


def unavailable() -> str | None:
    """Why the server cannot be installed here, or None when it can (or already is)."""
    if venv_dir().is_dir():
        return None
    if not VENDORED.exists() and not _reachable("github.com"):
        return f"PersonaPlex source: {VENDORED} is absent and github.com cannot be reached"
    if not _local_torch() and not _reachable("download.pytorch.org"):
        version = ".".join(map(str, PYTHON))
        return (
            f"no {TORCH} CPU wheel for Python {version} in PIP_FIND_LINKS and PyTorch's index "
            "cannot be reached (this machine kind has one for Python 3.11)"
        )
    return None


def _reachable(host: str) -> bool:
    try:
        socket.create_connection((host, 443), timeout=3).close()
    except OSError:
        return False
    return True


def venv_dir() -> Path:
    origin = VENDORED_SHA256 if VENDORED.exists() else GIT_REQUIREMENT
    key = digest(f"{PYTHON}", TORCH, *REQUIREMENTS, origin)
    return cache_root() / f"venv-{key}"


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_environment(log: Log = print) -> Path:
    """The server's interpreter, building its venv first when it is not cached."""
    final = venv_dir()
    if not final.is_dir():
        log(f"personaplex: building the server's venv in {final} (once; about a minute)")
    return python_of(build_once(final, lambda folder: _build(folder, log)))


def _build(venv: Path, log: Log) -> None:
    started = time.monotonic()
    _run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(python_of(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    log(f"personaplex: installing {TORCH} (CPU)")
    _run([*pip, *_torch_arguments()])
    with tempfile.TemporaryDirectory(prefix="personaplex-src-") as scratch:
        log(f"personaplex: installing the server from {source()}")
        _run([*pip, "--no-deps", _unpacked(Path(scratch))])
    log(f"personaplex: installing its requirements ({len(REQUIREMENTS)} pinned)")
    # The constraint keeps a requirement from swapping the CPU torch for another build.
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as constraints:
        constraints.write(f"{TORCH}\n")
        constraints.flush()
        _run([*pip, "-c", constraints.name, *REQUIREMENTS])
    log(f"personaplex: venv ready in {time.monotonic() - started:.0f}s")


def _local_torch() -> Path | None:
    """This interpreter's CPU wheel of TORCH in a PIP_FIND_LINKS folder, if one is there."""
    version = TORCH.split("==")[1]
    tag = f"cp{PYTHON[0]}{PYTHON[1]}"
    for folder in os.environ.get("PIP_FIND_LINKS", "").split():
        for wheel in Path(folder).glob(f"torch-{version}+cpu-{tag}-*.whl"):
            return wheel
    return None


def _torch_arguments() -> list[str]:
    local = _local_torch()
    if local is not None:
        return [str(local)]
    return [TORCH, "--extra-index-url", CPU_TORCH_INDEX]


def _unpacked(scratch: Path) -> str:
    """A pip-installable path or requirement for the fork, checked against its sha256."""
    if not VENDORED.exists():
        return GIT_REQUIREMENT
    actual = hashlib.sha256(VENDORED.read_bytes()).hexdigest()
    if actual != VENDORED_SHA256:
        raise RuntimeError(
            f"{VENDORED} has sha256 {actual}, expected {VENDORED_SHA256}: refusing to install it"
        )
    with tarfile.open(VENDORED) as archive:
        archive.extractall(scratch, filter="data")
    return str(scratch / VENDORED_PROJECT)


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-3000:]
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{output}")
