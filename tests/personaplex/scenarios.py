"""Running a scenario module (``batched_scenario``, ``long_scenario``) in the tiny model's
interpreter, and reading what it found."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.personaplex.frames import same_frame
from tests.support.personaplex import TinyPersonaPlex
from tests.support.personaplex.environment import REPO


def run_scenario(tiny: TinyPersonaPlex, module: str, *arguments: str) -> dict[str, Any]:
    """``python -m module *arguments`` under the server's interpreter: its JSON output."""
    env = {**tiny.environment(), "PYTHONPATH": f"{REPO / 'src'}:{REPO}"}
    done = subprocess.run(
        [str(tiny.python), "-m", module, *arguments],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # against a hang: each takes a minute or two here
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def assert_batched_equals_alone(scenario: dict[str, Any]) -> None:
    """Every conversation returned, frame for frame, what it returned alone."""
    for name, alone in scenario["alone"].items():
        together = scenario["batched"][name]
        assert len(together) == len(alone), name
        for index, (mine, reference) in enumerate(zip(together, alone, strict=True)):
            assert same_frame(mine, reference), f"conversation {name}, frame {index}"


def slots_held(occupancy: list[list[str]]) -> dict[str, set[str]]:
    """Which slots each conversation held over the batched run."""
    held: dict[str, set[str]] = {}
    for busy in occupancy:
        for entry in busy:
            owner, slot = entry.split("@")
            held.setdefault(owner, set()).add(slot)
    return held
