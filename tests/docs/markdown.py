"""Reading the project's Markdown: code, commands, variables, links."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"(?<![\w.-])scenario6 ((?:[^\s#`|]+ ?)*)")
VARIABLE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def code_of(text: str) -> list[str]:
    """Code blocks (comments removed) and inline code spans."""
    blocks = [
        "\n".join(line.split(" #", 1)[0] for line in block.splitlines())
        for block in FENCE.findall(text)
    ]
    prose = FENCE.sub("", text)
    return blocks + INLINE.findall(prose)


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]  # sub-command path, e.g. ("backend", "loopback")
    options: tuple[str, ...]  # --flags used with it
    source: str


def commands_in(path: Path) -> list[Command]:
    found = []
    for code in code_of(path.read_text(encoding="utf-8")):
        for line in code.splitlines():
            for match in COMMAND.finditer(line):
                tokens = match.group(1).split()
                words: list[str] = []
                for token in tokens:
                    if not re.fullmatch(r"[a-z][a-z0-9-]*", token):
                        break
                    words.append(token)
                options = tuple(t.split("=", 1)[0] for t in tokens if t.startswith("--"))
                found.append(Command(tuple(words), options, f"{path.name}: {match.group(0)}"))
    return found


def variables_in(path: Path) -> set[str]:
    return {v for code in code_of(path.read_text(encoding="utf-8")) for v in VARIABLE.findall(code)}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


def links_in(path: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", path.read_text(encoding="utf-8")))
