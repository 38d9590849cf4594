"""``python -m scenario6.backend.moshi_main [moshi.server arguments]``: upstream's server, resized.

PersonaPlex's ``moshi.server`` always builds the 7B architecture: it has no option or config file
for the model's size. A model folder made for another size (the tiny random model that lets the
real server run on a CPU) carries an ``architecture.json``; when ``MOSHI_ARCHITECTURE`` names
one, this applies it to the loaders first, then runs the unchanged ``moshi.server`` module as
``__main__`` with the same arguments. Without the variable it is exactly ``python -m
moshi.server``.
"""

from __future__ import annotations

import os
import runpy
import sys

from scenario6.backend import architecture

ENVIRONMENT_VARIABLE = "MOSHI_ARCHITECTURE"


def main() -> None:
    path = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if path:
        try:
            architecture.apply(architecture.load(path))
        except (OSError, architecture.ArchitectureError) as exc:
            sys.exit(f"{ENVIRONMENT_VARIABLE}={path}: {exc}")
    # The server module parses sys.argv and serves when it is imported.
    runpy.run_module("moshi.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
