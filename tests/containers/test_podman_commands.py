"""`scenario6 deploy` and `scenario6 bench images` drive the detected engine, Podman included:
its builds (host network, as with Docker), its Compose, its image sizes; the benchmark report
names it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scenario6.bench.machine import describe
from scenario6.bench.report import render_markdown
from scenario6.cli import main
from tests.containers.conftest import Engines

REPO = Path(__file__).resolve().parents[2]


def test_deploy_builds_and_starts_with_podman_when_it_is_the_engine(
    engines: Engines,
    only_stand_ins: Callable[..., None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    only_stand_ins("podman")
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("ACCESS_CODES", "alice:access-secret-value")
    out = tmp_path / "out"
    assert main(["deploy", "--backend", "loopback", "--output", str(out)]) == 0
    calls = engines.calls("podman")
    builds = [c for c in calls if c[1] == "build"]
    assert len(builds) == 2 and all(c[6:8] == ["--network", "host"] for c in builds)
    up = next(c for c in calls if c[1] == "compose" and "up" in c)
    assert up[1:4] == ["compose", "-f", str(out / "compose.yaml")]
    assert next(c for c in calls if c[1] == "image")[2:5] == ["inspect", "--format", "{{.Size}}"]
    printed = capsys.readouterr().out
    assert "123 MB" in printed and f"podman compose -f {out / 'compose.yaml'}" in printed
    assert engines.calls("docker") == []


def test_bench_images_builds_with_podman_when_it_is_the_engine(
    engines: Engines,
    only_stand_ins: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    only_stand_ins("podman")
    monkeypatch.setenv("SCENARIO6_BASE_IMAGE", "local/base:1")
    monkeypatch.delenv("SCENARIO6_BACKEND_IMAGE", raising=False)
    assert main(["bench", "images", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["engine"] == "podman"
    assert [row["size_mb"] for row in summary["images"]] == [123.0, 123.0]
    builds = [c for c in engines.calls("podman") if c[1] == "build"]
    assert [c[3] for c in builds] == ["scenario6-frontend:bench", "scenario6-loopback:bench"]
    assert all("--network" in c and "BASE_IMAGE=local/base:1" in c for c in builds)


def test_the_benchmark_report_names_podman_and_its_version_when_it_is_the_engine(
    engines: Engines, only_stand_ins: Callable[..., None]
) -> None:
    only_stand_ins("podman")
    machine = describe()
    markdown = render_markdown({}, machine, datetime.now(timezone.utc))
    assert "; container engine Podman 5.2.1;" in markdown
    assert asdict(machine)["container_engine"] == "Podman 5.2.1"  # performance.json
    assert engines.calls("docker") == []
