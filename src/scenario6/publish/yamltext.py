"""A small, deterministic YAML writer for the published files.

The publishers build plain dicts and lists; this turns them into block-style YAML that
people read and edit, with a comment header. Keys keep their insertion order. Strings that
YAML could read as something else (numbers, booleans, ``${VAR}``-free text with special
characters) are double-quoted using JSON escaping, which YAML reads identically.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

Data = Mapping[str, "Data"] | Sequence["Data"] | str | int | float | bool | None

_PLAIN = re.compile(r"^[A-Za-z_/.][A-Za-z0-9_./@+=-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(value: str | int | float | bool | None) -> str:
    """One scalar as YAML text.

    >>> [scalar("8998"), scalar("ws://a:1/x"), scalar(True), scalar("on"), scalar("abc")]
    ['"8998"', '"ws://a:1/x"', 'true', '"on"', 'abc']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if _PLAIN.match(value) and value.lower() not in _RESERVED:
        return value
    return json.dumps(value, ensure_ascii=False)


def dump(data: Data, header: Sequence[str] = ()) -> str:
    """``data`` as a YAML document, preceded by ``header`` lines as comments."""
    lines = [f"# {line}".rstrip() for line in header]
    lines.extend(_node(data, 0))
    return "\n".join(lines) + "\n"


def _node(data: Data, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(data, Mapping):
        if not data:
            return [pad + "{}"]
        lines: list[str] = []
        for key, value in data.items():
            lines.extend(_entry(f"{pad}{scalar(key)}:", value, indent))
        return lines
    if isinstance(data, Sequence) and not isinstance(data, str):
        if not data:
            return [pad + "[]"]
        lines = []
        for item in data:
            if isinstance(item, Mapping) and item:
                inner = _node(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            else:
                lines.extend(_entry(f"{pad}-", item, indent))
        return lines
    return [pad + scalar(data)]


def _entry(prefix: str, value: Data, indent: int) -> list[str]:
    if isinstance(value, Mapping) and value:
        return [prefix, *_node(value, indent + 2)]
    if isinstance(value, Sequence) and not isinstance(value, str) and value:
        return [prefix, *_node(value, indent + 2)]
    if isinstance(value, str) and "\n" in value:
        body = [" " * (indent + 2) + line if line else "" for line in value.splitlines()]
        return [f"{prefix} |", *body]
    if isinstance(value, Mapping):
        return [f"{prefix} {{}}"]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [f"{prefix} []"]
    return [f"{prefix} {scalar(value)}"]
