"""Run by every Python started with this folder on PYTHONPATH: each FrontendSettings built is
written down, one line in ``$SCENARIO6_CONSTRUCTIONS/<pid>``, so that a test can count them
in the real processes of a launcher (forked children included).

pydantic-settings' own ``__init__`` is wrapped, not the project's class: the fast reloader's
children import the project's modules afresh, but keep the third-party ones it preloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

_DIRECTORY = os.environ.get("SCENARIO6_CONSTRUCTIONS")
_build = BaseSettings.__init__


def _counted(self: BaseSettings, *args: Any, **kwargs: Any) -> None:
    if _DIRECTORY and type(self).__name__ == "FrontendSettings":
        with (Path(_DIRECTORY) / str(os.getpid())).open("a") as record:
            record.write("built\n")
    _build(self, *args, **kwargs)


BaseSettings.__init__ = _counted  # type: ignore[method-assign]
