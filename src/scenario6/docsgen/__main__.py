"""``python -m scenario6.docsgen [--check]``: regenerate (or check) docs/configuration.md."""

from __future__ import annotations

import argparse
import sys

from scenario6.setup.project import find_root

from .configuration import DOC, REGENERATE, render


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scenario6.docsgen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args()
    path = find_root() / DOC
    wanted = render()
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if args.check:
        if current != wanted:
            print(f"{DOC} is out of date: run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    if current == wanted:
        print(f"{DOC} is up to date")
    else:
        path.write_text(wanted, encoding="utf-8")
        print(f"wrote {DOC}")
    return 0


raise SystemExit(main())
