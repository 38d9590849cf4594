#!/usr/bin/env python3
"""Set up this checkout: .venv with the pinned dependencies, .env, then `scenario6 doctor`.

Runs with the standard library only, from any directory: python3 setup_scenario6.py --help
"""

import os
import sys

# Checked before importing the project, whose modules would fail obscurely on an old Python;
# the same minimum as scenario6.setup.project.MIN_PYTHON, which a test keeps in step.
if sys.version_info < (3, 10):  # noqa: UP036 - must run on old Pythons to refuse them
    sys.stderr.write(
        "setup_scenario6.py: Python "
        + ".".join(str(part) for part in sys.version_info[:2])
        + " is too old: scenario6 needs Python 3.10 or newer. "
        "Run it with a newer interpreter, e.g. python3.12 setup_scenario6.py\n"
    )
    sys.exit(2)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))

from scenario6.setup.command import main

if __name__ == "__main__":
    sys.exit(main())
