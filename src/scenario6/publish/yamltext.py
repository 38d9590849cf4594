"""The published files' YAML: PyYAML with the house style people read and edit.

The publishers build plain dicts and lists; :func:`dump` writes them as block-style YAML
after a comment header. PyYAML does the writing; this module only chooses the style:

- keys keep their insertion order, and lists are indented under their key;
- multi-line strings become literal blocks (``|``), so scripts read as scripts;
- a string stays plain only when it is a word-like value (a name, a path) that no YAML
  reader takes for anything else; every other string is double-quoted. PyYAML alone would
  quote only what *it* (YAML 1.1) reads differently, but Compose reads YAML 1.2 and
  Kubernetes a YAML 1.1 dialect with ``y``/``n`` booleans, so ``0o440`` or ``n`` must be
  quoted too;
- no anchors or aliases, even where the publishers reuse one object twice;
- no line folding, so long commands stay on one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import yaml

Data = Mapping[str, "Data"] | Sequence["Data"] | str | int | float | bool | None

_PLAIN = re.compile(r"^[A-Za-z_/.][A-Za-z0-9_./@+=-]*$")
# Words some YAML reader takes for a boolean or null (YAML 1.1 and 1.2, go-yaml's y/n).
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
_STR = "tag:yaml.org,2002:str"


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # PyYAML writes a list under a key at the key's own indent; indent it like a map.
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: object) -> bool:
        return True


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        style: str | None = "|"
    elif _PLAIN.match(value) and value.lower() not in _RESERVED:
        # Plain unless PyYAML's own resolver disagrees (``.inf``, ``.5``): it quotes those.
        style = None
    else:
        style = '"'
    return dumper.represent_scalar(_STR, value, style=style)


_Dumper.add_representer(str, _string)


def dump(data: Data, header: Sequence[str] = ()) -> str:
    """``data`` as a YAML document, preceded by ``header`` lines as comments.

    >>> print(dump({"port": "8998", "ports": ["80:80"], "name": "x"}, header=["hi"]), end="")
    # hi
    port: "8998"
    ports:
      - "80:80"
    name: x
    """
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header)
    body = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=float("inf"),
    )
    return comments + body
