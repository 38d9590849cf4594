"""The build cache: folders named by what they were built from, complete or absent."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "scenario6" / "personaplex"


def digest(*parts: str | bytes) -> str:
    """A short key for the inputs; any change in any part gives another folder."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "big") + data)
    return hasher.hexdigest()[:16]


def build_once(final: Path, build: Callable[[Path], None]) -> Path:
    """``final``, built by ``build(folder)`` unless it exists.

    The build writes into a temporary sibling that is renamed when it completes, so an
    interrupted build is never taken for a finished one.
    """
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f".{final.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        build(partial)
        partial.rename(final)
    except OSError:
        if not final.is_dir():
            raise
        # Another process finished the same build first: keep its copy.
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final
