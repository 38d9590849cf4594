"""App-model files written for a test: the builder, the test's resources, then ``run()``."""

from __future__ import annotations

from pathlib import Path


def write_apphost(folder: Path, body: str, name: str = "test-app") -> Path:
    """``folder/apphost.py`` with ``body`` between the builder and ``builder.build().run()``."""
    path = folder / "apphost.py"
    path.write_text(
        "import sys\n"
        "from scenario6.apphost import DistributedApplication\n"
        f"builder = DistributedApplication.create_builder(name={name!r})\n"
        f"{body}\n"
        "builder.build().run()\n"
    )
    return path
