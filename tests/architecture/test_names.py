"""One word, one concept: "runtime" in a type's name and "engine" in a module's name are the
container runtime and its engine (Docker or Podman), which live in scenario6.containers.
Where a backend or frontend runs is a placement; what runs a run is the supervisor.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "scenario6"
HOME = SRC / "containers"


def _defined(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, name) of the module's classes and type aliases."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.extend((node.lineno, t.id) for t in targets if isinstance(t, ast.Name))
    return found


def test_only_the_container_module_names_a_type_runtime() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}: {name}"
        for path in sorted(SRC.rglob("*.py"))
        if HOME not in path.parents
        for line, name in _defined(ast.parse(path.read_text()))
        if name.endswith("Runtime")
    ]
    assert found == [], "a runtime is the container runtime:\n" + "\n".join(found)


def test_only_the_container_module_is_named_engine() -> None:
    found = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if HOME not in path.parents and "engine" in path.stem
    ]
    assert found == [], "an engine is the container engine: " + ", ".join(found)
