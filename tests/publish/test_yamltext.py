"""The YAML writer: what it writes reads back as the same data."""

from __future__ import annotations

import yaml

from scenario6.publish.yamltext import dump


def test_round_trip_of_awkward_values() -> None:
    data = {
        "plain": "scenario6-moshi",
        "looks_like_numbers": ["8998", "0.0.0.0", "1e3", "0o440"],
        "looks_like_booleans": ["on", "no", "yes", "true", "null", "~"],
        "specials": ["${HF_TOKEN:?set it}", "a: b", "- x", "#not a comment", "'q'", '"dq"'],
        "multi": "line one\n  indented\nline three\n",
        "unicode": "→ ü",
        "empty": {"map": {}, "list": [], "string": ""},
        "numbers": [1, 2.5, True, False, None],
        "nested": [{"a": 1, "b": [{"c": "d"}]}, ["x", ["y"]]],
    }
    assert yaml.safe_load(dump(data, header=["a comment"])) == data


def test_header_is_comments() -> None:
    text = dump({"a": 1}, header=["first line", ""])
    assert text.startswith("# first line\n#\na: 1")
    assert yaml.safe_load(text) == {"a": 1}
