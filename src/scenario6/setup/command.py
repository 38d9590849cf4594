"""``setup_scenario6.py`` / ``scenario6 setup``: venv, pinned install, ``.env``, then the doctor."""

from __future__ import annotations

import argparse
import getpass
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from scenario6.facts.names import TOKEN

from . import envfile, installer, project
from .console import mark


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter to create .venv with (default: the one running this)",
    )
    parser.add_argument(
        "--uv", action="store_true", help="use uv instead of pip (when uv is on PATH)"
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--hf-token",
        metavar="TOKEN",
        help="store this Hugging Face token in .env (prefer --ask-token: "
        "command lines end up in shell history)",
    )
    token.add_argument(
        "--ask-token", action="store_true", help="prompt for the token without echoing it"
    )
    parser.add_argument(
        "--no-doctor",
        action="store_true",
        help="skip the checks `scenario6 doctor` runs at the end",
    )
    parser.add_argument(
        "--venv-only",
        action="store_true",
        help="only create and install .venv: no .env, no token, no doctor (./test.sh uses this)",
    )
    parser.add_argument(
        "--venv",
        default=project.VENV,
        metavar="NAME",
        help=f"the venv folder in the checkout (default: {project.VENV}; the app runs from "
        f"{project.VENV}, another is for testing on another Python, with --venv-only)",
    )
    parser.add_argument(
        "--project-dir", type=Path, help="the checkout to set up (default: this script's)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="setup_scenario6.py",
        description="Set up a scenario6 checkout: .venv with the pinned dependencies, .env, "
        "and an optional Hugging Face token; then run `scenario6 doctor`. Safe to run again.",
    )
    add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.venv != project.VENV and not args.venv_only:
        # .env, the token and the doctor belong to the app, which runs from .venv only.
        print(f"{mark('fail')} --venv {args.venv} needs --venv-only", file=sys.stderr)
        return 2
    try:
        root = (args.project_dir or project.find_root()).resolve()
        changes = _set_up(root, args)
    except (installer.SetupError, FileNotFoundError) as exc:
        print(f"{mark('fail')} {exc}", file=sys.stderr)
        return 1
    except _Refused as exc:
        print(f"{mark('fail')} {exc}", file=sys.stderr)
        return 2
    if changes:
        print(f"Set-up done: {', '.join(changes)}.")
    else:
        print("Nothing to do: everything was already set up; nothing changed.")
    if args.no_doctor or args.venv_only:
        return 0
    print()
    command = [str(project.venv_python(root)), "-m", "scenario6", "doctor"]
    return subprocess.run(command, cwd=root, check=False).returncode


class _Refused(Exception):
    """The user's input or environment cannot be used; nothing was changed for it."""


def _set_up(root: Path, args: argparse.Namespace) -> list[str]:
    changes: list[str] = []
    if args.uv and not installer.uv_available():
        print(f"{mark('warn')} --uv: uv is not on PATH; using pip")
        args.uv = False
    venv = args.venv
    python = project.venv_python(root, venv)
    if python.exists():
        version = installer.interpreter_version(str(python))
        print(f"{mark('ok')} {venv} exists (Python {_dotted(version)})")
        _refuse_old(version, f"{venv} was made with", f"remove {venv} and ")
    else:
        version = installer.interpreter_version(args.python)
        _refuse_old(version, args.python, "")
        print(f"{mark('info')} creating {venv} with Python {_dotted(version)}")
        installer.create_venv(root, args.python, args.uv, venv)
        changes.append(f"created {venv}")
    if project.in_sync(root, venv):
        print(f"{mark('ok')} dependencies match pyproject.toml and requirements.lock")
    else:
        tool = "uv" if args.uv else "pip"
        print(f"{mark('info')} installing scenario6[{project.EXTRAS}] with {tool} (pinned)")
        installer.install(root, args.uv, name=venv)
        changes.append("installed the pinned dependencies")
    if args.venv_only:
        return changes
    if envfile.ensure_env_file(root):
        print(f"{mark('info')} created .env from .env.example")
        changes.append("created .env")
    elif (root / ".env").exists():
        print(f"{mark('ok')} .env exists")
    token = _token(args)
    if token is not None:
        problem = envfile.token_problem(token)
        if problem:
            raise _Refused(f"{problem}; .env was not changed")
        if envfile.write_token(root / ".env", token):
            print(f"{mark('info')} stored {TOKEN} in .env (not shown)")
            changes.append(f"stored {TOKEN}")
        else:
            print(f"{mark('ok')} .env already holds this {TOKEN}")
    return changes


def _token(args: argparse.Namespace) -> str | None:
    if args.hf_token is not None:
        return str(args.hf_token)
    if args.ask_token:
        return getpass.getpass("Hugging Face token (input hidden): ").strip()
    return None


def _refuse_old(version: tuple[int, ...], source: str, first: str) -> None:
    problem = project.python_problem(version)
    if problem:
        raise _Refused(
            f"{source}: {problem} Install Python {project.MIN_PYTHON_TEXT}+ (e.g. apt install "
            f"python{project.MIN_PYTHON_TEXT}-venv), {first}run again with --python PATH."
        )


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(v) for v in version)


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
