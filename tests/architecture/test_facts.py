"""The app's facts are written once, in scenario6.facts.names: no other module spells them.

Docstrings may show them (examples and doctests read better with real values); code that
needs a name, a port or the secret's name imports it.
"""

from __future__ import annotations

from pathlib import Path

from scenario6.facts import names

from .literals import spelled, spelled_outside

SRC = Path(__file__).resolve().parents[2] / "src" / "scenario6"
HOME = SRC / "facts" / "names.py"
FACTS: dict[str, object] = {
    "FRONTEND": names.FRONTEND,
    "BACKEND": names.BACKEND,
    "FRONTEND_PORT": names.FRONTEND_PORT,
    "BACKEND_PORT": names.BACKEND_PORT,
    "TOKEN": names.TOKEN,
    "METRICS_ENV": names.METRICS_ENV,
    "METRICS_PORT": names.METRICS_PORT,
}


def test_the_checker_finds_a_spelled_fact_and_ignores_docstrings() -> None:
    source = (
        '"""Serves on 8010, as scenario6-frontend."""\n'
        "def f():\n"
        '    """HF_TOKEN is shown here only."""\n'
        '    return ("scenario6-moshi-certs", 8998, f"{x}-HF_TOKEN")\n'
    )
    assert sorted(spelled(source, FACTS)) == [(4, "BACKEND"), (4, "BACKEND_PORT"), (4, "TOKEN")]


def test_no_module_but_the_facts_spells_a_name_a_port_or_the_secret() -> None:
    found = spelled_outside(HOME, sorted(SRC.rglob("*.py")), FACTS, SRC)
    assert found == [], "import these from scenario6.facts.names:\n" + "\n".join(found)
