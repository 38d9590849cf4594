"""Only scenario6.containers runs the container engine's CLI: everything else calls it through
its client (``ContainerRuntime``), which owns the engine, the CLI and the secrets policy.

Checked in the source tree, the app model and the tests' support code: no other module reads a
client's ``cli`` (to build its own command line) or writes an argv that starts with ``docker``
or ``podman``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from scenario6.containers.engine import PREFERENCE

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "scenario6"
HOME = SRC / "containers"
READERS = [
    ROOT / "apphost.py",
    *sorted(SRC.rglob("*.py")),
    *sorted((ROOT / "tests" / "support").rglob("*.py")),
]


def cli_callers(source: str) -> list[tuple[int, str]]:
    """(line, what) for each place in ``source`` that drives the engine's CLI itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "cli":
            found.append((node.lineno, "reads .cli"))
        elif isinstance(node, ast.List | ast.Tuple) and node.elts:
            first = node.elts[0]
            if isinstance(first, ast.Constant) and first.value in PREFERENCE:
                found.append((node.lineno, f"runs {first.value}"))
    return found


def test_the_checker_finds_both_ways_of_running_the_cli() -> None:
    source = (
        "import subprocess\n"
        "subprocess.run([runtime.cli, 'ps'])\n"
        "subprocess.run(('podman', 'ps'))\n"
        "names = ('python', 'docker')\n"
        "runtime.run('ps')\n"
    )
    assert sorted(cli_callers(source)) == [(2, "reads .cli"), (3, "runs podman")]


def test_only_the_container_module_runs_the_container_cli() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in READERS
        if HOME not in path.parents
        for line, what in cli_callers(path.read_text())
    ]
    assert found == [], "call the engine through scenario6.containers:\n" + "\n".join(found)
