"""Layers that point one way: each package of scenario6 imports only from the packages below
it (or to its left on its own line), inside the frontend too, and no modules import each other
in a circle."""

from __future__ import annotations

from pathlib import Path

from .imports import Import, Line, cycles, imports, layer_violations

SRC = Path(__file__).resolve().parents[2] / "src" / "scenario6"

# Bottom to top. A package may import any lower line and, on its own line, those to its left;
# on an ``apart`` line none of the others. Standard library and third-party imports are free.
LAYERS = (
    Line.of("__init__"),  # scenario6/__init__.py: the version
    Line.of("protocol", "extras", "facts"),  # the wire protocol, optional installs, app facts
    # The model servers: their images carry only this package and the two below it.
    Line.of("backend"),
    Line.of("apphost"),  # the generic app model: knows nothing of this app
    Line.of("frontend"),
    Line.of("setup"),
    Line.of("containers"),
    Line.of("run", "publish", "doctor", apart=True),  # three uses of the app model
    Line.of("bench"),
    Line.of("cli", "docsgen", "debug", "__main__"),
)

# The frontend's own modules and sub-packages, bottom to top, read like LAYERS.
FRONTEND = (
    Line.of("__init__"),
    Line.of("invitations", "settings"),  # the settings, and the grammar of ACCESS_CODES
    Line.of("hosts", "trust"),  # which name a request asks for, and who sent it
    Line.of("deadline", "reset", "unparsed", "serving", "websocket_serving"),  # the HTTP server
    Line.of("telemetry"),
    Line.of("access", "proxy", apart=True),  # the gate and the session proxy, independent
    Line.of("deps"),  # what routes are handed: settings, pool, gate
    Line.of("routes"),
    Line.of("app", "server"),  # builds the objects and wires them; serves them, drained
)


def test_packages_import_only_from_lower_layers() -> None:
    violations = layer_violations(imports(SRC), LAYERS)
    assert not violations, "imports against the layers:\n" + "\n".join(violations)


def test_the_frontend_imports_only_from_its_lower_layers() -> None:
    violations = layer_violations(imports(SRC), FRONTEND, inside="scenario6.frontend")
    assert not violations, "imports against the frontend's layers:\n" + "\n".join(violations)


def test_no_modules_import_each_other_in_a_circle() -> None:
    found = cycles(imports(SRC))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_the_real_tree_is_read() -> None:
    edges = {(edge.source, edge.target) for edge in imports(SRC)}
    assert ("scenario6.__main__", "scenario6.cli") in edges
    assert len(edges) > 100


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_every_kind_of_import_is_seen(tmp_path: Path) -> None:
    tree = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/low/__init__.py": "",
            "pkg/low/base.py": "VALUE = 1\n",
            "pkg/high/__init__.py": "from ..low import base\n",
            "pkg/high/lazy.py": "def f():\n    import pkg.low.base as b\n    return b\n",
            "pkg/high/typed.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from pkg.low.base import VALUE\n"
            ),
            "pkg/high/sibling.py": "from . import lazy\nfrom pkg import high\nimport json\n",
        },
    )
    assert {(edge.source, edge.target) for edge in imports(tree)} == {
        ("pkg.high", "pkg.low.base"),  # relative, a module named in ``from … import``
        ("pkg.high.lazy", "pkg.low.base"),  # inside a function
        ("pkg.high.typed", "pkg.low.base"),  # for type checking only, a name in the module
        ("pkg.high.sibling", "pkg.high.lazy"),
        ("pkg.high.sibling", "pkg.high"),  # a package's own __init__
    }


def test_an_import_upwards_is_reported_where_it_stands(tmp_path: Path) -> None:
    tree = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/low.py": "def f():\n    from pkg.high import g\n",
            "pkg/high.py": "from pkg import low\ndef g(): pass\n",
        },
    )
    layers = (Line.of("low"), Line.of("high"))
    assert layer_violations(imports(tree), layers) == [
        f"{tree / 'low.py'}:2: pkg.low imports pkg.high (low may not import high)"
    ]


def test_inside_a_package_its_own_table_applies_to_its_own_imports(tmp_path: Path) -> None:
    tree = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/top.py": "",
            "pkg/app/__init__.py": "from pkg import top\n",  # leaves the package: not judged
            "pkg/app/low.py": "from .high.part import g\n",
            "pkg/app/high/__init__.py": "",
            "pkg/app/high/part.py": "from pkg.app import low\ndef g(): pass\n",
        },
    )
    layers = (Line.of("__init__"), Line.of("low"), Line.of("high"))
    assert layer_violations(imports(tree), layers, inside="pkg.app") == [
        f"{tree / 'app' / 'low.py'}:1: pkg.app.low imports pkg.app.high.part"
        " (low may not import high)"
    ]


def test_a_line_is_read_left_to_right_unless_apart(tmp_path: Path) -> None:
    tree = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/left.py": "",
            "pkg/right.py": "from pkg import left\n",
        },
    )
    found = imports(tree)
    assert layer_violations(found, (Line.of("left", "right"),)) == []
    assert layer_violations(found, (Line.of("right", "left"),)) != []
    assert layer_violations(found, (Line.of("left", "right", apart=True),)) != []


def test_a_package_missing_from_the_table_is_reported(tmp_path: Path) -> None:
    tree = write(tmp_path, {"pkg/__init__.py": "", "pkg/new.py": "import pkg\n"})
    [problem] = layer_violations(imports(tree), (Line.of("__init__"),))
    assert "'new' is not in the layer table" in problem


def test_a_cycle_is_reported_with_its_path(tmp_path: Path) -> None:
    tree = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "import typing\nif typing.TYPE_CHECKING:\n    from . import c\n",
            "pkg/c.py": "def f():\n    import pkg.a\n",
            "pkg/d.py": "from pkg import a, b, c\n",  # imports the circle, is not in it
        },
    )
    assert cycles(imports(tree)) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_no_cycle_in_a_tree_that_only_points_down(tmp_path: Path) -> None:
    tree = write(tmp_path, {"pkg/__init__.py": "from . import a\n", "pkg/a.py": ""})
    found = imports(tree)
    assert found == [Import("pkg", "pkg.a", tree / "__init__.py", 1)]
    assert cycles(found) == []
