"""One answer to "can containers get the GPU here?" for both `scenario6 run` and the doctor."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.containers import engine, nvidia_support


def nothing_on_path(name: str) -> str | None:
    return None


def test_docker_counts_its_nvidia_runtime_or_the_toolkit() -> None:
    assert nvidia_support(False, '{"runc": {}}', nothing_on_path) == []
    assert nvidia_support(False, "not json", nothing_on_path) == []
    assert nvidia_support(False, '{"nvidia": {}, "runc": {}}', nothing_on_path) == [
        "docker runtime 'nvidia'"
    ]
    only_ctk = lambda name: "/usr/bin/nvidia-ctk" if name == "nvidia-ctk" else None  # noqa: E731
    assert nvidia_support(False, "", only_ctk) == ["NVIDIA Container Toolkit"]


def test_podman_needs_a_cdi_spec_for_nvidia_gpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "CDI_DIRS", (str(tmp_path),))
    everything = lambda name: f"/usr/bin/{name}"  # noqa: E731 - the toolkit alone is not enough
    (tmp_path / "other.yaml").write_text("kind: example.com/fpga\n")
    assert nvidia_support(True, "", everything) == []
    (tmp_path / "nvidia.yaml").write_text("kind: nvidia.com/gpu\n")
    assert nvidia_support(True, "", everything) == [f"CDI spec {tmp_path / 'nvidia.yaml'}"]
