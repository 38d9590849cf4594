"""The published files' YAML: what it writes reads back as the same data, in the house style."""

from __future__ import annotations

import yaml

from scenario6.publish.yamltext import dump


def test_round_trip_of_awkward_values() -> None:
    data = {
        "plain": "scenario6-moshi",
        "looks_like_numbers": ["8998", "0.0.0.0", "1e3", "0o440", ".inf", ".5", "1:30"],
        "looks_like_booleans": ["on", "no", "yes", "true", "null", "~", "y", "N"],
        "specials": ["${HF_TOKEN:?set it}", "a: b", "- x", "#not a comment", "'q'", '"dq"'],
        "multi": "line one\n  indented\nline three\n",
        "multi_without_final_newline": "a\nb",
        "multi_with_blank_lines": "\n  first\n\n\n",
        "unicode": "→ ü",
        "empty": {"map": {}, "list": [], "string": ""},
        "numbers": [1, 2.5, True, False, None],
        "nested": [{"a": 1, "b": [{"c": "d"}]}, ["x", ["y"]]],
        "long": "x " * 100,
    }
    assert yaml.safe_load(dump(data, header=["a comment"])) == data


def test_header_is_comments() -> None:
    text = dump({"a": 1}, header=["first line", ""])
    assert text.startswith("# first line\n#\na: 1")
    assert yaml.safe_load(text) == {"a": 1}


def test_strings_other_readers_take_for_something_else_are_quoted() -> None:
    # PyYAML reads these plain as strings, but Compose (YAML 1.2) reads 0o440 as a number and
    # Kubernetes' YAML 1.1 reader reads y and n as booleans.
    text = dump({"mode": "0o440", "short": ["y", "n"], "name": "scenario6-moshi"})
    assert text == 'mode: "0o440"\nshort:\n  - "y"\n  - "n"\nname: scenario6-moshi\n'


def test_block_style_people_can_edit() -> None:
    shared = {"app": "x"}
    script = "import os\nprint(os.getcwd())\n"
    text = dump({"selector": shared, "labels": shared, "command": ["python", "-c", script]})
    assert text == (
        "selector:\n"
        "  app: x\n"
        "labels:\n"
        "  app: x\n"
        "command:\n"
        "  - python\n"
        '  - "-c"\n'
        "  - |\n"
        "    import os\n"
        "    print(os.getcwd())\n"
    )


def test_long_strings_stay_on_one_line() -> None:
    command = "python -c " + "x" * 200
    assert dump({"test": command}) == f'test: "{command}"\n'
