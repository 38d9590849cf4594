"""Project set-up: the venv, its pinned install, ``.env``. Standard library only.

``setup_scenario6.py`` imports this package before any virtual environment exists, so nothing
here may import a third-party module (or a part of ``scenario6`` that does).
"""
