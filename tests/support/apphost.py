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


def write_web_app(folder: Path, port: int, body: str = "") -> Path:
    """An app whose resource ``web`` serves ``folder`` on ``port`` (``/health`` answers 200 and
    every request is logged), with the secret ``API_KEY`` and the plain ``PLAIN``; ``body``
    adds resources."""
    (folder / "health").write_text("ok\n")
    return write_apphost(
        folder,
        f"""
key = builder.add_parameter("api-key", secret=True)
web = (
    builder.add_executable(
        "web", sys.executable, ".", ["-m", "http.server", "{port}", "--bind", "127.0.0.1"]
    )
    .with_http_endpoint(port={port})
    .with_http_health_check("/health")
    .with_environment("API_KEY", key)
    .with_environment("PLAIN", "shown")
)
{body}""",
    )
