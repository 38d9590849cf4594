"""The import graph of a source tree, read with ``ast`` (nothing is imported): which module
imports which, where, and the layer rules and cycles that graph can break.

Every ``import`` statement counts wherever it stands (top level, inside a function, under
``if TYPE_CHECKING:``): a lazy or type-only import is still a dependency of the code.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """``source`` (a module) imports ``target`` (a module of the same tree) at ``path:line``."""

    source: str
    target: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} imports {self.target}"


@dataclass(frozen=True)
class Line:
    """One line of the layer table: packages that may import every lower line. On an ordinary
    line a package may also import those to its left; on an ``apart`` line, none of the others.
    """

    packages: tuple[str, ...]
    apart: bool = False

    @classmethod
    def of(cls, *packages: str, apart: bool = False) -> Line:
        return cls(packages, apart)


def modules(root: Path) -> dict[str, Path]:
    """Module name → file for the package at ``root`` (``root/__init__.py`` is ``root.name``)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(root: Path) -> list[Import]:
    """Every import of a module of the tree at ``root`` by a module of it."""
    known = modules(root)
    found = []
    for source, path in known.items():
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for name in _imported_names(node, package):
                target = _module_of(name, known)
                if target is not None and target != source:
                    found.append(Import(source, target, path, node.lineno))
    return found


def _imported_names(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    """The dotted names an import statement brings in, relative ones made absolute."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = package.split(".")
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    # ``from pkg import name``: ``name`` is a submodule or something defined in ``pkg``.
    return [f"{base}.{alias.name}" for alias in node.names]


def _module_of(name: str, known: Mapping[str, Path]) -> str | None:
    """The longest module of the tree that ``name`` is, or is defined in; None if outside it."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def package_of(module: str, inside: str | None = None) -> str:
    """The package (or module) right under ``inside`` (default: the tree's root package):
    ``a.b.c`` → ``b``, or ``c`` inside ``a.b``; the package's own ``__init__`` → ``__init__``."""
    parts = module.split(".")
    depth = 1 if inside is None else inside.count(".") + 1
    return parts[depth] if len(parts) > depth else "__init__"


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer_violations(
    found: Sequence[Import], layers: Sequence[Line], inside: str | None = None
) -> list[str]:
    """Each import that points up (or sideways on an ``apart`` line), or leaves the table.

    ``inside`` (a package's dotted name) applies the table to that package's own modules and
    sub-packages, and to the imports among them only.
    """
    place = {
        package: (height, position, line.apart)
        for height, line in enumerate(layers)
        for position, package in enumerate(line.packages)
    }
    problems = []
    for edge in found:
        if inside is not None and not (
            _within(edge.source, inside) and _within(edge.target, inside)
        ):
            continue
        source, target = package_of(edge.source, inside), package_of(edge.target, inside)
        if source == target:
            continue
        if source not in place or target not in place:
            missing = source if source not in place else target
            problems.append(f"{edge} (package {missing!r} is not in the layer table)")
            continue
        (low, left, apart), (high, right, _) = place[target], place[source]
        if low > high or (low == high and (apart or left > right)):
            problems.append(f"{edge} ({source} may not import {target})")
    return problems


def cycles(found: Sequence[Import]) -> list[list[str]]:
    """One cycle (``[a, b, …, a]``) for each group of modules that import each other."""
    graph: dict[str, set[str]] = {}
    for edge in found:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    return [_cycle_through(group, graph) for group in _strongly_connected(graph) if len(group) > 1]


def _strongly_connected(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules each reachable from every other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for after in sorted(graph[node]):
            if after not in index:
                visit(after)
                low[node] = min(low[node], low[after])
            elif after in stack:
                low[node] = min(low[node], index[after])
        if low[node] == index[node]:  # ``node`` and everything above it on the stack
            cut = stack.index(node)
            groups.append(set(stack[cut:]))
            del stack[cut:]

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def _cycle_through(group: set[str], graph: Mapping[str, set[str]]) -> list[str]:
    """The shortest way from the group's first module back to itself, within the group."""
    start = min(group)
    paths = {after: [start, after] for after in sorted(graph[start] & group)}
    frontier = list(paths)
    while start not in paths:
        step = []
        for node in frontier:
            for after in sorted(graph[node] & group):
                if after not in paths:
                    paths[after] = [*paths[node], after]
                    step.append(after)
        frontier = step
    return paths[start]
