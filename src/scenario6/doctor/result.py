"""What one check found: a status, one line saying what, one line saying how to fix it."""

from __future__ import annotations

import enum
import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from scenario6.apphost.configuration import Configuration, read_dotenv

Mode = Literal["run", "publish"]


class Status(str, enum.Enum):
    """What enum.StrEnum (3.11+) would be: str() and f-strings give the value."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. ``fix`` is empty when there is nothing to do.

    >>> CheckResult("ports", Status.OK, "8010 and 8998 are free").passed
    True
    """

    name: str
    status: Status
    summary: str
    fix: str = ""
    required: bool = False

    @property
    def passed(self) -> bool:
        return self.status is not Status.FAIL

    def as_warning(self) -> CheckResult:
        """The same finding, for a mode that can do without it."""
        if self.status is Status.FAIL:
            return replace(self, status=Status.WARN, required=False)
        return self

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "fix": self.fix,
            "required": self.required,
        }


@dataclass(frozen=True)
class Context:
    """What the checks look at: an environment (not necessarily ours) and a checkout."""

    root: Path
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    mode: Mode = "run"
    backend: str = "auto"

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.env.get("PATH", ""))

    @functools.cached_property
    def configuration(self) -> Configuration:
        """The environment, then the checkout's ``.env``: what the AppHost reads."""
        return Configuration(environ=self.env, dotenv=read_dotenv(self.root / ".env"))

    def setting(self, name: str, default: str = "") -> str:
        return self.configuration.get(name, default)

    def command(self, argv: Sequence[str], timeout: float = 15) -> tuple[int, str, str]:
        """Run a tool in this context's environment; (exit code, stdout, stderr), never raises."""
        try:
            done = subprocess.run(
                list(argv),
                env=dict(self.env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return 124, "", f"{argv[0]} did not answer within {timeout:g}s"
        except OSError as exc:
            return 127, "", str(exc)
        return done.returncode, done.stdout, done.stderr
