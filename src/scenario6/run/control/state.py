"""The state file of a running app: where its control API listens, with which token.

It lives in the checkout (``.scenario6/run/state.json``), readable only by its owner, and
exists while the run does; one whose process is gone is stale and removed when read.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_DIR = Path(".scenario6") / "run"
STATE_FILE = "state.json"
LOG_DIR = "logs"
RUN_LOG = "run.log"  # a detached run's own output
# ``scenario6 run`` exits with this when the checkout already has a run going.
ALREADY_RUNNING = 3


def run_dir(app_dir: Path) -> Path:
    return app_dir / STATE_DIR


@dataclass
class RunState:
    """What ``ps`` and the other commands need to find and reach a run."""

    pid: int
    port: int
    token: str
    started_at: float
    app: str
    app_dir: str
    resources: dict[str, list[str]] = field(default_factory=dict)  # name → endpoint URLs
    resource_service: str = ""  # Aspire's resource service (gRPC), when served

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def login_url(self) -> str:
        return f"{self.url}/login?t={self.token}"

    @property
    def uptime(self) -> float:
        return time.time() - self.started_at


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process now holds that pid
        return True
    return True


def write(app_dir: Path, state: RunState) -> Path:
    """Write the state file (mode 0600, in a folder of mode 0700), replacing it at once."""
    folder = run_dir(app_dir)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / STATE_FILE
    partial = folder / f".{STATE_FILE}.{os.getpid()}"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(asdict(state), out, indent=2)
    os.replace(partial, path)
    return path


def read(app_dir: Path) -> RunState | None:
    """The live run of this checkout, or None; a stale state file is removed on the way."""
    path = run_dir(app_dir) / STATE_FILE
    try:
        state = RunState(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if alive(state.pid):
        return state
    with contextlib.suppress(OSError):
        path.unlink()
    return None


def remove(app_dir: Path, pid: int) -> None:
    """Remove the state file if it is ``pid``'s (a newer run may have written its own)."""
    path = run_dir(app_dir) / STATE_FILE
    with contextlib.suppress(OSError, ValueError, TypeError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
