"""One word, one concept: "runtime" in a type's name is the container runtime (Docker or
Podman), which lives in scenario6.containers. Where a backend or frontend runs is a placement.
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
