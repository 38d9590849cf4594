"""Model sizes as architecture.json, and the server's interpreter applying them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from scenario6.backend import architecture
from scenario6.backend.moshi_main import ENVIRONMENT_VARIABLE
from tests.support.personaplex import TinyPersonaPlex
from tests.support.personaplex.model import write_files


def test_an_architecture_survives_a_round_trip_byte_for_byte(tmp_path: Path) -> None:
    first = architecture.dump(tmp_path / "a.json", architecture.TINY)
    assert architecture.load(first) == architecture.TINY
    second = architecture.dump(tmp_path / "b.json", architecture.load(first))
    assert first.read_bytes() == second.read_bytes()
    assert architecture.load(architecture.dump(tmp_path / "c.json", {})) == architecture.FULL_SIZE


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ({"_decoder_kwargs": {"dim": 1}}, "_decoder_kwargs"),
        ({"_lm_kwargs": [1, 2]}, "_lm_kwargs"),
        ([1, 2], "list"),
    ],
)
def test_a_malformed_architecture_is_refused_by_name(
    tmp_path: Path, content: object, named: str
) -> None:
    path = tmp_path / "architecture.json"
    path.write_text(json.dumps(content))
    with pytest.raises(architecture.ArchitectureError, match=named):
        architecture.load(path)


def test_the_server_refuses_a_key_its_loaders_do_not_have(
    tiny_personaplex: TinyPersonaPlex, tmp_path: Path
) -> None:
    path = architecture.dump(tmp_path / "architecture.json", {"_lm_kwargs": {"dimm": 64}})
    done = subprocess.run(
        tiny_personaplex.server_command(["--device", "cpu"]),
        env={**os.environ, **tiny_personaplex.environment(), ENVIRONMENT_VARIABLE: str(path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "'dimm'" in done.stderr
    assert "_lm_kwargs" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_model_files_are_the_same_for_the_same_seed(
    tiny_personaplex: TinyPersonaPlex, tmp_path: Path
) -> None:
    fresh = tmp_path / "model"
    write_files(tiny_personaplex.python, fresh)

    def digests(folder: Path) -> set[tuple[str, str]]:
        return {
            (str(path.relative_to(folder)), hashlib.sha256(path.read_bytes()).hexdigest())
            for path in folder.rglob("*")
            if path.is_file()
        }

    made = digests(fresh)
    assert len(made) == 4 + 18  # weights, tokenizer, architecture, voices
    assert made <= digests(tiny_personaplex.model_dir)
