"""A build shown as it runs still leaves its last lines, and the hint, in the error."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scenario6.apphost import DockerBuild
from scenario6.containers import BuildError, ContainerRuntime, build_image
from tests.containers.conftest import Engines

FAILING_BUILD = """#!/bin/sh
i=1
while [ $i -le 30 ]; do echo "step $i"; i=$((i+1)); done
echo "ERROR: failed to resolve source metadata for docker.io/library/python:3.12-slim" >&2
exit 17
"""


@pytest.mark.parametrize("show_progress", [True, False])
def test_a_failed_build_names_its_last_lines_whether_shown_or_not(
    engines: Engines, tmp_path: Path, capsys: pytest.CaptureFixture[str], show_progress: bool
) -> None:
    runtime = ContainerRuntime(str(engines.add("docker", FAILING_BUILD)), env=engines.env())
    build = DockerBuild(context=tmp_path, dockerfile=tmp_path / "Dockerfile")
    with pytest.raises(BuildError) as failure:
        build_image(runtime, "web:1", build, show_progress=show_progress)
    message = str(failure.value)
    assert "building web:1 failed (exit code 17; Dockerfile)" in message
    assert "step 30" in message and "step 15" not in message, "the last lines, not all"
    assert "The base image could not be fetched" in message
    shown = capsys.readouterr().err
    assert ("step 1\n" in shown) is show_progress, "progress is on the terminal as it runs"


def test_a_build_shown_as_it_runs_still_has_a_deadline(engines: Engines, tmp_path: Path) -> None:
    quiet = "#!/bin/sh\necho started\nexec /bin/sleep 30\n"
    runtime = ContainerRuntime(str(engines.add("docker", quiet)), env=engines.env())
    build = DockerBuild(context=tmp_path, dockerfile=tmp_path / "Dockerfile")
    with pytest.raises(subprocess.TimeoutExpired):
        build_image(runtime, "web:1", build, show_progress=True, timeout=0.5)
