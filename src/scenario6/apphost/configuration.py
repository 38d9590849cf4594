"""AppHost configuration: command-line overrides, then the environment, then `.env`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import AppModelError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file: KEY=VALUE lines, `#` comments, optional quotes and `export`.

    Not python-dotenv: `setup_scenario6.py` reads `.env` under the system Python, before any
    dependency is installed, so this parser may use only the standard library.
    """
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


class Configuration(Mapping[str, str]):
    """Layered settings: overrides win over the environment, which wins over `.env`.

    >>> Configuration(environ={"USE_GPU": "0"}, dotenv={"USE_GPU": "1"}).get_bool("USE_GPU", True)
    False
    """

    def __init__(
        self,
        *,
        overrides: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
        dotenv: Mapping[str, str] | None = None,
    ) -> None:
        self._layers: tuple[Mapping[str, str], ...] = (
            dict(overrides or {}),
            dict(os.environ if environ is None else environ),
            dict(dotenv or {}),
        )

    @classmethod
    def for_app_dir(
        cls, app_dir: Path, overrides: Mapping[str, str] | None = None
    ) -> Configuration:
        return cls(overrides=overrides, dotenv=read_dotenv(app_dir / ".env"))

    def __getitem__(self, key: str) -> str:
        for layer in self._layers:
            if key in layer:
                return layer[key]
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for layer in self._layers:
            for key in layer:
                if key not in seen:
                    seen.add(key)
                    yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get_bool(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise AppModelError(f"expected true/false, got {value!r}", field=key)

    def get_int(self, key: str, default: int) -> int:
        value = self.get(key)
        if value is None or not value.strip():
            return default
        try:
            return int(value)
        except ValueError:
            raise AppModelError(f"expected a whole number, got {value!r}", field=key) from None
