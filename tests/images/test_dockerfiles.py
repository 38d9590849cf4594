"""What the Dockerfiles promise, read from the files themselves (no engine needed).

The PersonaPlex target cannot be built without a GPU host's registry and Git access, so its
stage is checked here: a plain build picks it, it pins the studied upstream commit, and it
carries what upstream forgets to declare.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scenario6.facts.contract import CERTS_DIR, HF_HOME, PROBE
from tests.install.lock import pyproject
from tests.support.docker import REPO

PERSONAPLEX_COMMIT = "3428dfd95309a7f3c84fd93259ded0f810d1ff91"


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = (REPO / dockerfile).read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    pairs = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), " ".join(rest.split())))
    return pairs


def stages(dockerfile: str) -> dict[str, list[tuple[str, str]]]:
    result: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in instructions(dockerfile):
        if keyword == "FROM":
            current = []
            result[rest.split(" AS ")[-1].strip()] = current
        current.append((keyword, rest))
    return result


def image(dockerfile: str, target: str) -> list[tuple[str, str]]:
    """A target's instructions, those of the earlier stages it starts FROM included."""
    built = stages(dockerfile)
    base = built[target][0][1].split(" AS ")[0].strip()
    inherited = image(dockerfile, base) if base in built else []
    return [*inherited, *built[target]]


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "moshi/Dockerfile"])
def test_every_base_image_is_a_build_argument(dockerfile: str) -> None:
    earlier: set[str] = set()
    for keyword, rest in instructions(dockerfile):
        if keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            assert base.startswith("${") or base in earlier, f"{dockerfile}: FROM {rest}"
            earlier.add(name.strip())


@pytest.mark.parametrize(
    ("dockerfile", "stage", "lists"),
    [
        ("Dockerfile", "builder", ("telemetry",)),
        ("moshi/Dockerfile", "loopback-builder", ("loopback", "tls")),
    ],
)
def test_the_images_install_pyprojects_own_lists_and_nothing_by_hand(
    dockerfile: str, stage: str, lists: tuple[str, ...], tmp_path: Path
) -> None:
    """The builder's listing step, run here on the repository's pyproject.toml, lists exactly
    the dependencies and extras the image needs (the tls extra for the backend's certificate),
    as pyproject pins them; the lock file then constrains what pip installs."""
    run = next(rest for keyword, rest in stages(dockerfile)[stage] if "> deps.txt" in rest)
    assert run.endswith("&& /opt/venv/bin/pip install -c requirements.lock -r deps.txt")
    # The image's venv is this interpreter; the installs are the image's business.
    listing = run.replace("/opt/venv/bin/python", sys.executable)
    listing = listing.replace("/opt/venv/bin/pip install", "true")
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy(REPO / name, tmp_path / name)
    subprocess.run(["sh", "-c", listing], cwd=tmp_path, check=True, timeout=60)
    project = pyproject()["project"]
    wanted = [] if dockerfile.startswith("moshi/") else list(project["dependencies"])
    for extra in lists:
        wanted += project["optional-dependencies"][extra]
    assert (tmp_path / "deps.txt").read_text().splitlines() == wanted


def test_a_plain_backend_build_is_personaplex_on_the_cuda_base() -> None:
    built = stages("moshi/Dockerfile")
    assert list(built)[-1] == "personaplex"
    header = instructions("moshi/Dockerfile")
    assert ("ARG", "CUDA_BASE_IMAGE=nvidia/cuda:12.4.1-runtime-ubuntu22.04") in header
    assert image("moshi/Dockerfile", "personaplex")[0] == (
        "FROM",
        "${CUDA_BASE_IMAGE} AS personaplex-runtime",
    )


def test_the_batched_target_is_the_personaplex_image_running_the_batched_server() -> None:
    built = stages("moshi/Dockerfile")
    # Builders without BuildKit build every stage up to --target: the batched one must not
    # need the default one, which stays last for a plain build.
    names = list(built)
    assert names.index("personaplex-batched") < names.index("personaplex")
    # Both add only their MOSHI_BACKEND (and the slot count) to one shared stage.
    assert built["personaplex-batched"] == [
        ("FROM", "personaplex-runtime AS personaplex-batched"),
        ("ENV", "MOSHI_BACKEND=batched MOSHI_SLOTS=auto"),
    ]
    assert built["personaplex"] == [
        ("FROM", "personaplex-runtime AS personaplex"),
        ("ENV", "MOSHI_BACKEND=personaplex"),
    ]


def test_personaplex_stage_pins_upstream_and_adds_what_it_forgets() -> None:
    builder = " ".join(rest for _, rest in stages("moshi/Dockerfile")["personaplex-builder"])
    assert f"PERSONAPLEX_COMMIT={PERSONAPLEX_COMMIT}" in builder
    # The default source is the pinned commit; a build argument may point at a mirror of it.
    assert (
        "PERSONAPLEX_SOURCE=git+https://github.com/NVIDIA/personaplex@${PERSONAPLEX_COMMIT}"
        "#subdirectory=moshi" in builder
    )
    assert '"moshi-personaplex @ ${PERSONAPLEX_SOURCE}"' in builder
    assert "TORCH_REQUIREMENT=torch==2.4.1" in builder  # CUDA 12's wheel on GPU hosts
    for pinned in ("accelerate==", "pyloudnorm==", "cryptography==", "torch=="):
        assert pinned in builder
    # The batched server's metrics, at the version the rest of the project runs.
    locked = next(
        line
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if line.startswith("prometheus-client==")
    )
    assert f'"{locked}"' in builder
    assert "--no-deps /build" in builder  # the entrypoint without the frontend's dependencies


def test_personaplex_runtime_environment() -> None:
    runtime = image("moshi/Dockerfile", "personaplex")
    text = " ".join(f"{k} {rest}" for k, rest in runtime)
    for expected in ("NO_TORCH_COMPILE=1", f"HF_HOME={HF_HOME}", "MOSHI_BACKEND=personaplex"):
        assert expected in text
    assert "libopus0" in text
    assert ("VOLUME", f'["{HF_HOME}"]') in runtime
    assert ("USER", "app") in runtime
    assert ("ENTRYPOINT", '["python", "-m", "scenario6.backend.entrypoint"]') in runtime
    assert "HF_TOKEN" not in (REPO / "moshi/Dockerfile").read_text()


@pytest.mark.parametrize("target", ["loopback", "personaplex", "personaplex-batched"])
def test_every_backend_target_keeps_the_images_contract(target: str) -> None:
    built = image("moshi/Dockerfile", target)
    text = " ".join(f"{k} {rest}" for k, rest in built)
    assert f"MOSHI_SSL_DIR={CERTS_DIR}" in text
    assert "mkdir -p" in text and CERTS_DIR in text  # made, and owned by its user
    [probe] = [rest for keyword, rest in built if keyword == "HEALTHCHECK"][-1:]
    assert json.loads(probe.partition(" CMD ")[2]) == list(PROBE)
