"""Whether the app model is being run locally or published as deployment artifacts."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Operation(enum.Enum):
    RUN = "run"
    PUBLISH = "publish"


@dataclass(frozen=True)
class ExecutionContext:
    """What the AppHost is being asked to do; app models branch on it.

    >>> ExecutionContext(Operation.PUBLISH).is_publish_mode
    True
    """

    operation: Operation = Operation.RUN

    @property
    def is_run_mode(self) -> bool:
        return self.operation is Operation.RUN

    @property
    def is_publish_mode(self) -> bool:
        return self.operation is Operation.PUBLISH
