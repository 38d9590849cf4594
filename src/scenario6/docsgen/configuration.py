"""docs/configuration.md: one row per ``FrontendSettings`` field (env var = name upper-cased)."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from scenario6.facts.names import TOKEN
from scenario6.frontend.settings import FrontendSettings

DOC = Path("docs") / "configuration.md"
REGENERATE = "python -m scenario6.docsgen"
_LONG = 48

_HEADER = f"""\
# Configuration reference

<!-- Generated from scenario6.frontend.settings.FrontendSettings by `{REGENERATE}`.
     Do not edit by hand: change the Field descriptions and regenerate. -->

The frontend reads these environment variables once, at start-up. Each variable is the
setting's name in upper case. An invalid value stops the frontend before it listens, with a
message naming the variable (for example `APP_PORT: Input should be less than or equal to
65535`). `scenario6 run` sets `APP_HOST`, `APP_PORT` and `MOSHI_WS_URL` for you; the other
variables can go in your shell or, for run mode, in `.env`.

The frontend never reads `{TOKEN}`: only the backend container gets the token.

| Variable | Default | Allowed | Description |
|---|---|---|---|
"""

_FOOTER = """
The backend container and the AppHost read their own variables; see
[the backend container](gpu.md#backend-container-variables) and
[run-mode settings](architecture.md#run-mode-settings).
"""


def render() -> str:
    rows = [_row(name, field) for name, field in FrontendSettings.model_fields.items()]
    return _HEADER + "\n".join(rows) + "\n" + _FOOTER


def _row(name: str, field: FieldInfo) -> str:
    description = (field.description or "").replace("|", "\\|")
    return f"| `{name.upper()}` | {_default(field.default)} | {_allowed(field)} | {description} |"


def _default(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        if not value:
            return "(none)"
        return "`" + ",".join(str(getattr(item, "url", item)) for item in value) + "`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if len(text) > _LONG:
        return f"`{text[:_LONG].rstrip()}…`"
    return f"`{text}`"


def _allowed(field: FieldInfo) -> str:
    bounds = []
    for item in field.metadata:
        for attribute, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            limit = getattr(item, attribute, None)
            if limit is not None:
                bounds.append(f"{symbol} {limit:g}")
    kind = _kind(field)
    return ", ".join([kind, *bounds]) if bounds else kind


def _kind(field: FieldInfo) -> str:
    if typing.get_origin(field.annotation) is typing.Literal:
        return "one of " + ", ".join(f"`{choice}`" for choice in typing.get_args(field.annotation))
    annotation = str(field.annotation)
    for needle, label in (
        ("BackendUrl", "URL list"),
        ("tuple[str", "list"),
        ("Path", "file path"),
        ("bool", "boolean"),
        ("float", "number"),
        ("int", "integer"),
    ):
        if needle in annotation:
            return label
    return "text"
