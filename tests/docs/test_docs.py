"""The documentation says only true things about commands, variables, close codes and files."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

from scenario6.docsgen.configuration import DOC, REGENERATE, render
from scenario6.frontend.proxy import closes
from scenario6.frontend.settings import FrontendSettings

from .markdown import (
    REPO,
    Command,
    anchors,
    commands_in,
    documents,
    links_in,
    variables_in,
)

# Third-party variables the docs may name: the OpenTelemetry SDK's and the Docker client's.
EXTERNAL_PREFIXES = ("OTEL_",)
EXTERNAL = {"DOCKER_HOST"}


def test_configuration_reference_is_generated_from_the_settings() -> None:
    on_disk = (REPO / DOC).read_text(encoding="utf-8")
    assert on_disk == render(), f"{DOC} is stale: run `{REGENERATE}`"
    for name in FrontendSettings.model_fields:
        assert f"`{name.upper()}`" in on_disk


def test_regenerate_command_reports_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scenario6.docsgen", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _all_commands() -> list[Command]:
    unique: dict[tuple[tuple[str, ...], tuple[str, ...]], Command] = {}
    for path in documents():
        for command in commands_in(path):
            unique.setdefault((command.words, command.options), command)
    return list(unique.values())


@functools.cache
def _help(words: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scenario6", *words, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", _all_commands(), ids=lambda c: c.source)
def test_documented_command_exists(command: Command) -> None:
    shown = _help(command.words)
    assert shown.returncode == 0, f"{command.source}: {shown.stderr}"
    for option in command.options:
        assert option in shown.stdout, f"{command.source}: no {option} in its --help"


def test_commands_were_found() -> None:
    words = {c.words[:1] for c in _all_commands()}
    assert {("run",), ("doctor",), ("publish",), ("setup",)} <= words


def _known_variables() -> set[str]:
    """Upper-case string literals in the code that reads variables, plus the settings."""
    known = {name.upper() for name in FrontendSettings.model_fields}
    sources = [REPO / "apphost.py", *sorted((REPO / "src" / "scenario6").rglob("*.py"))]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                known.update(_words(node.value))
    for dockerfile in (REPO / "Dockerfile", REPO / "moshi" / "Dockerfile"):
        if dockerfile.exists():
            known.update(_words(dockerfile.read_text(encoding="utf-8")))
    return known


def _words(text: str) -> set[str]:
    import re

    return set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", text))


def test_documented_variables_are_real() -> None:
    known = _known_variables()
    unknown = {
        f"{path.name}: {name}"
        for path in documents()
        for name in variables_in(path)
        if name not in known and name not in EXTERNAL and not name.startswith(EXTERNAL_PREFIXES)
    }
    assert not unknown, sorted(unknown)


def test_every_close_code_is_documented() -> None:
    import re

    text = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    documented = {int(code) for code in re.findall(r"^\| (\d{4}) \|", text, re.M)}
    assert documented == set(closes.codes().values())


def test_links_point_at_files_and_headings() -> None:
    broken = []
    for path in documents():
        for link in links_in(path):
            if "://" in link or link.startswith("mailto:"):
                continue
            target, _, anchor = link.partition("#")
            file = (path.parent / target).resolve() if target else path
            if not file.exists():
                broken.append(f"{path.name}: {link}")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{path.name}: {link} (no such heading)")
    assert not broken, broken


def test_readme_keeps_its_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["./run.sh", "./test.sh"]


def test_docs_say_nothing_about_secrets_values() -> None:
    for path in [*documents(), REPO / ".env.example"]:
        assert "hf_" not in Path(path).read_text(encoding="utf-8").replace("hf_...", "")


def test_no_tracked_file_holds_a_merge_conflict_marker() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    markers = (b"<<<<<<< ", b">>>>>>> ")
    found = []
    for name in filter(None, listed):
        path = REPO / name.decode()
        if not path.is_file() or path.suffix in {".png", ".json"}:
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            if line.startswith(markers):
                found.append(f"{name.decode()}:{number}")
    assert found == [], "merge conflict markers left in: " + ", ".join(found)
