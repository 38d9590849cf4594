"""Literals in source code that spell a fact meant to live in one module only.

Docstrings may show them (examples and doctests read better with real values); code that
needs one imports it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path


def _docstrings(tree: ast.Module) -> set[int]:
    owners = [
        tree,
        *(
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ),
    ]
    found = set()
    for owner in owners:
        body = owner.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            found.add(id(body[0].value))
    return found


def spelled(source: str, facts: Mapping[str, object]) -> list[tuple[int, str]]:
    """(line, fact) for each literal in ``source`` that spells one of ``facts``, docstrings
    aside."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in skip:
            continue
        hits.extend((node.lineno, fact) for fact, value in facts.items() if _spells(node, value))
    return hits


def _spells(node: ast.Constant, value: object) -> bool:
    if isinstance(value, str):
        return isinstance(node.value, str) and value in node.value
    return type(node.value) is type(value) and node.value == value


def spelled_outside(
    home: Path, readers: Iterable[Path], facts: Mapping[str, object], root: Path
) -> list[str]:
    """``path:line: fact`` (relative to ``root``) for each fact spelled in a reader but home."""
    return [
        f"{path.relative_to(root)}:{line}: {fact}"
        for path in readers
        if path != home
        for line, fact in spelled(path.read_text(), facts)
    ]
