"""A digest of what a Docker build reads, so unchanged inputs mean an unchanged container.

Image ids are no good for that: the classic builder may pick any of several equivalent
cached layer chains, so the same inputs can yield a different id from one build to the next.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shlex
from pathlib import Path

from scenario6.apphost import DockerBuild


def _patterns(context: Path) -> list[tuple[bool, str]]:
    ignore = context / ".dockerignore"
    if not ignore.is_file():
        return []
    rules = []
    for raw in ignore.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        rules.append((negated, os.path.normpath(pattern)))
    return rules


def _matches(pattern: str, path: str) -> bool:
    """Docker's matching, closely enough: a rule matches a path or any folder above it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    if pattern.startswith("**/"):
        tail = pattern[3:]
        spans = [parts[i : j + 1] for i in range(len(parts)) for j in range(i, len(parts))]
        return any(fnmatch.fnmatchcase("/".join(span), tail) for span in spans)
    return any(fnmatch.fnmatchcase(p, pattern) for p in prefixes)


def _ignored(rules: list[tuple[bool, str]], path: str) -> bool:
    ignored = False
    for negated, pattern in rules:
        if _matches(pattern, path):
            ignored = not negated
    return ignored


def copied_sources(dockerfile: str) -> list[str]:
    """The context paths COPY/ADD instructions read (``--from`` copies read no context)."""
    joined = re.sub(r"\\\s*\n", " ", dockerfile)
    sources: list[str] = []
    for line in joined.splitlines():
        words = line.strip().split(None, 1)
        if len(words) < 2 or words[0].upper() not in ("COPY", "ADD"):
            continue
        rest = words[1].strip()
        args = [str(a) for a in json.loads(rest)] if rest.startswith("[") else shlex.split(rest)
        if any(a.startswith("--from") for a in args):
            continue
        args = [a for a in args if not a.startswith("--")]
        sources += [os.path.normpath(a).lstrip("/") or "." for a in args[:-1]]
    return sources


def build_digest(build: DockerBuild) -> str:
    """sha256 over the Dockerfile, target, build arguments and the context files it copies."""
    text = build.dockerfile.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode())
    digest.update(repr((build.target, sorted(build.args))).encode())
    rules = _patterns(build.context)
    for source in sorted(set(copied_sources(text))):
        matches = sorted(build.context.glob(source)) if source != "." else [build.context]
        for match in matches:
            for path in _files(build.context, match, rules):
                digest.update(path.encode() + b"\0")
                digest.update(hashlib.sha256((build.context / path).read_bytes()).digest())
    return digest.hexdigest()


def _files(context: Path, start: Path, rules: list[tuple[bool, str]]) -> list[str]:
    if start.is_file():
        relative = start.relative_to(context).as_posix()
        return [] if _ignored(rules, relative) else [relative]
    found = []
    for folder, dirs, files in os.walk(start):
        relative = Path(folder).relative_to(context).as_posix()
        prefix = "" if relative == "." else relative + "/"
        dirs[:] = sorted(d for d in dirs if not _ignored(rules, prefix + d))
        found += [prefix + n for n in sorted(files) if not _ignored(rules, prefix + n)]
    return found
