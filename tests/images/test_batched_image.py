"""The backend image's personaplex-batched target, built here for a CPU.

It is the personaplex image with the batched server chosen: the same content, its own
MOSHI_BACKEND and MOSHI_SLOTS, and the same entrypoint that refuses a slot count it cannot use.
"""

from __future__ import annotations

import ast
import subprocess

import pytest

from tests.support.docker import BuiltImage, docker_cli, image_config

pytestmark = pytest.mark.docker

# What the entrypoint would exec in this image, printed instead of run.
SHOW_COMMAND = (
    "import os; from scenario6.backend.entrypoint import BackendConfig, server_argv; "
    "print(server_argv(BackendConfig.from_env(os.environ), python='python'))"
)


def _env(config: dict[str, object]) -> dict[str, str]:
    pairs = config["Env"]
    assert isinstance(pairs, list)
    return dict(str(pair).split("=", 1) for pair in pairs)


def test_the_batched_target_is_the_personaplex_image_with_the_batched_server(
    batched_image: BuiltImage, personaplex_image: BuiltImage
) -> None:
    batched, single = image_config(batched_image.tag), image_config(personaplex_image.tag)
    assert _env(batched)["MOSHI_BACKEND"] == "batched"
    assert _env(batched)["MOSHI_SLOTS"] == "auto"
    assert "MOSHI_SLOTS" not in _env(single)
    for key in ("Entrypoint", "User", "Healthcheck", "Volumes", "ExposedPorts"):
        assert batched[key] == single[key], key
    rest = {k: v for k, v in _env(batched).items() if k not in ("MOSHI_BACKEND", "MOSHI_SLOTS")}
    assert rest == {k: v for k, v in _env(single).items() if k != "MOSHI_BACKEND"}


@pytest.mark.parametrize(("slots", "shown"), [(None, "auto"), ("3", "3")])
def test_its_environment_starts_the_batched_server_with_the_slot_count(
    batched_image: BuiltImage, slots: str | None, shown: str
) -> None:
    env = ["-e", f"MOSHI_SLOTS={slots}"] if slots else []
    argv = ["run", "--rm", *env, "--entrypoint", "python", batched_image.tag, "-c", SHOW_COMMAND]
    command = ast.literal_eval(docker_cli(*argv).strip())
    assert command[:3] == ["python", "-m", "scenario6.backend.batched"]
    assert command[-2:] == ["--slots", shown]


def test_a_slot_count_it_cannot_use_stops_the_container_with_a_reason(
    batched_image: BuiltImage,
) -> None:
    done = subprocess.run(
        ["docker", "run", "--rm", "-e", "MOSHI_SLOTS=0", batched_image.tag],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "MOSHI_SLOTS must be at least 1 (or auto), not 0" in done.stderr
