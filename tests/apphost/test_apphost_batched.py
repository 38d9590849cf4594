"""The repository's apphost.py with the batched backend: its image target and slot count."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.apphost import (
    AppModelError,
    ContainerResource,
    Operation,
    Parameter,
)
from tests.support.appmodel import load_app

APPHOST = Path(__file__).resolve().parents[2] / "apphost.py"


@pytest.fixture(autouse=True)
def _defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("USE_GPU", "MOSHI_SLOTS", "MOSHI_DEVICE", "PERSONAPLEX_MODEL_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SCENARIO6_BACKEND_IMAGE", raising=False)


def _backend(operation: Operation, overrides: dict[str, str]) -> ContainerResource:
    moshi = load_app(operation, "batched", overrides).resource("scenario6-moshi")
    assert isinstance(moshi, ContainerResource)
    return moshi


@pytest.mark.parametrize("operation", [Operation.RUN, Operation.PUBLISH])
def test_batched_is_the_personaplex_container_with_its_own_target_and_auto_slots(
    operation: Operation,
) -> None:
    app = load_app(operation, "batched")
    moshi, frontend = app.resource("scenario6-moshi"), app.resource("scenario6-frontend")
    assert isinstance(moshi, ContainerResource)
    assert moshi.build is not None and moshi.build.target == "personaplex-batched"
    assert moshi.image == "scenario6-moshi:personaplex-batched"
    assert (moshi.env["MOSHI_BACKEND"], moshi.env["MOSHI_SLOTS"]) == ("batched", "auto")
    # Everything else as for personaplex: the GPU, the token, the model's start-up allowance
    # and the run supervisor's readiness sign (a 404 for /health once the model is loaded).
    assert moshi.gpus and isinstance(moshi.env["HF_TOKEN"], Parameter)
    assert moshi.startup_timeout == 3600
    [check] = moshi.health_checks
    assert (check.path, check.status) == ("/health", 404)
    # With auto the frontend learns the count from the backend's upgrade response.
    assert "SESSIONS_PER_BACKEND" not in frontend.env
    assert "HF_TOKEN" not in frontend.env


@pytest.mark.parametrize("operation", [Operation.RUN, Operation.PUBLISH])
def test_a_fixed_slot_count_reaches_the_backend_and_the_frontend(operation: Operation) -> None:
    app = load_app(operation, "batched", {"MOSHI_SLOTS": " 4 "})
    assert app.resource("scenario6-moshi").env["MOSHI_SLOTS"] == "4"
    assert app.resource("scenario6-frontend").env["SESSIONS_PER_BACKEND"] == "4"


@pytest.mark.parametrize("value", ["0", "four", "2.5"])
def test_a_slot_count_the_backend_would_refuse_stops_the_app_model(value: str) -> None:
    with pytest.raises(AppModelError, match="field 'MOSHI_SLOTS': MOSHI_SLOTS must"):
        load_app(Operation.PUBLISH, "batched", {"MOSHI_SLOTS": value})


@pytest.mark.parametrize("backend", ["personaplex", "loopback"])
def test_other_backends_neither_read_nor_pass_the_slot_count(backend: str) -> None:
    app = load_app(Operation.PUBLISH, backend, {"MOSHI_SLOTS": "four"})
    assert "MOSHI_SLOTS" not in app.resource("scenario6-moshi").env
    assert "MOSHI_BACKEND" not in app.resource("scenario6-moshi").env  # the image says it
    assert "SESSIONS_PER_BACKEND" not in app.resource("scenario6-frontend").env


def test_a_given_personaplex_image_runs_the_batched_server() -> None:
    moshi = _backend(Operation.RUN, {"SCENARIO6_BACKEND_IMAGE": "scenario6-personaplex:cpu"})
    assert moshi.build is None and moshi.image == "scenario6-personaplex:cpu"
    assert moshi.env["MOSHI_BACKEND"] == "batched"


def test_cpu_and_a_local_model_folder_work_as_for_personaplex(tmp_path: Path) -> None:
    overrides = {"USE_GPU": "0", "PERSONAPLEX_MODEL_DIR": str(tmp_path), "MOSHI_SLOTS": "2"}
    app = load_app(Operation.RUN, "batched", overrides)
    moshi = app.resource("scenario6-moshi")
    assert isinstance(moshi, ContainerResource)
    assert not moshi.gpus and moshi.env["MOSHI_DEVICE"] == "cpu"
    assert moshi.env["MOSHI_MODEL_DIR"] in {v.target for v in moshi.volumes}
    assert "HF_TOKEN" not in moshi.env and not app.parameters
