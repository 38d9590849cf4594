"""The labels ``scenario6 run`` puts on its containers, for whoever looks for them later."""

from __future__ import annotations

APP = "scenario6.app"  # the app's id (its bridge network carries it too)
RESOURCE = "scenario6.resource"  # the app model's resource name
SPEC_HASH = "scenario6.spec-hash"  # what the container was created from, to reuse it
LIFETIME = "scenario6.lifetime"  # session or persistent
BENCH = "scenario6.bench"  # containers a benchmark starts


def selector(key: str, value: str) -> str:
    """A ``--filter`` argument that finds containers labelled ``key=value``."""
    return f"label={key}={value}"
