"""The project's ``.env``: made from ``.env.example``, and where a Hugging Face token is kept.

The token is written to the file (mode 600) and never echoed back: callers only learn
whether one is set and whether it looks like a token.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from scenario6.apphost.configuration import read_dotenv
from scenario6.facts.names import TOKEN

_TOKEN_SHAPE = re.compile(r"hf_[A-Za-z0-9]{20,}")
_LINE = re.compile(rf"^\s*(?:export\s+)?{TOKEN}\s*=(.*)$")


def token_problem(token: str | None) -> str | None:
    """What is wrong with a token (without quoting it), or None when it looks right."""
    if not token:
        return f"{TOKEN} is not set"
    if not _TOKEN_SHAPE.fullmatch(token.strip()):
        return f"{TOKEN} does not look like a Hugging Face token (hf_ followed by letters/digits)"
    return None


def ensure_env_file(root: Path) -> bool:
    """Copy ``.env.example`` to ``.env`` when ``.env`` is missing; True when it was created."""
    env, example = root / ".env", root / ".env.example"
    if env.exists() or not example.is_file():
        return False
    shutil.copyfile(example, env)
    env.chmod(0o600)
    return True


def read_token(path: Path) -> str | None:
    """The token in a dotenv file, read as the AppHost reads it; None when empty."""
    return read_dotenv(path).get(TOKEN) or None


def write_token(path: Path, token: str) -> bool:
    """Set the token in ``path`` (replacing any earlier line); False when it already had it."""
    token = token.strip()
    if read_token(path) == token:
        return False
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if not _LINE.match(line)]
    replaced = len(kept) != len(lines)
    if replaced:
        index = next(i for i, line in enumerate(lines) if _LINE.match(line))
        kept.insert(index, f"{TOKEN}={token}")
    else:
        kept.append(f"{TOKEN}={token}")
    # Create with owner-only permissions before the secret is written into it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(kept) + "\n")
    path.chmod(0o600)
    return True
