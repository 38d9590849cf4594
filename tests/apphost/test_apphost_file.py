"""The repository's apphost.py: what each mode and backend choice turns into."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.apphost import (
    ContainerResource,
    Lifetime,
    Operation,
    Parameter,
    PythonAppResource,
    load_apphost,
)
from scenario6.facts import contract
from scenario6.facts.stack import FrontendPlacement, Stack
from tests.support.appmodel import load_app

APPHOST = Path(__file__).resolve().parents[2] / "apphost.py"


@pytest.fixture(autouse=True)
def _defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("USE_GPU", "MOSHI_PORT", "FRONTEND_PORT", "MOSHI_USE_SSL", "HF_HOME"):
        monkeypatch.delenv(name, raising=False)


def test_publish_mode_is_two_containers_with_the_token_for_the_backend_only() -> None:
    app = load_apphost(APPHOST, Operation.PUBLISH)
    moshi, frontend = app.resource("scenario6-moshi"), app.resource("scenario6-frontend")
    assert isinstance(moshi, ContainerResource) and isinstance(frontend, ContainerResource)
    assert moshi.build is not None and moshi.build.target == "personaplex"
    assert moshi.gpus and moshi.lifetime is Lifetime.PERSISTENT
    assert moshi.endpoints["http"].port == 8998
    assert isinstance(moshi.env["HF_TOKEN"], Parameter)
    assert {"MOSHI_CPU_OFFLOAD", "MOSHI_USE_SSL", "HF_HOME"} <= set(moshi.env)
    assert [v.target for v in moshi.volumes] == [moshi.env["HF_HOME"]]
    assert frontend.endpoints["http"].port == 8010
    assert "HF_TOKEN" not in frontend.env
    assert frontend.waits == ["scenario6-moshi"]
    assert frontend.env["MOSHI_WS_URL"] == moshi.get_endpoint("http")


def test_run_mode_frontend_is_a_uvicorn_app_with_reload() -> None:
    app = load_app(Operation.RUN, "loopback")
    frontend = app.resource("scenario6-frontend")
    assert isinstance(frontend, PythonAppResource)
    assert frontend.entry.target == "scenario6.frontend.app:app" and frontend.reload
    moshi = app.resource("scenario6-moshi")
    assert isinstance(moshi, ContainerResource) and not moshi.gpus
    assert moshi.build is not None and moshi.build.target == "loopback"
    assert "HF_TOKEN" not in moshi.env and not app.parameters


@pytest.mark.parametrize(
    ("stack", "overrides", "expected"),
    [
        (Stack("loopback", "native"), {}, "python"),
        (Stack("personaplex", "container"), {"USE_GPU": "0"}, "container"),
    ],
)
def test_backend_variants(stack: Stack, overrides: dict[str, str], expected: str) -> None:
    app = load_apphost(APPHOST, Operation.RUN, overrides, stack=stack)
    moshi = app.resource("scenario6-moshi")
    assert moshi.kind == expected
    if isinstance(moshi, ContainerResource):  # USE_GPU=0: no GPU asked for, none looked for
        assert not moshi.gpus
        assert moshi.env["MOSHI_DEVICE"] == "cpu"


def test_external_backend_url_has_no_moshi_resource() -> None:
    app = load_app(Operation.RUN, "wss://gpu-box:8998")
    assert [r.name for r in app.resources] == ["scenario6-frontend"]
    assert app.resource("scenario6-frontend").env["MOSHI_WS_URL"] == "wss://gpu-box:8998"


@pytest.mark.parametrize("frontend", ["python", "docker"])
def test_tls_backend_in_run_mode_hands_its_ca_to_the_frontend(frontend: FrontendPlacement) -> None:
    app = load_app(Operation.RUN, "loopback", {"MOSHI_USE_SSL": "1"}, frontend=frontend)
    moshi = app.resource("scenario6-moshi")
    assert isinstance(moshi, ContainerResource)
    [(source, copy)] = moshi.exports
    assert source == contract.CA_FILE
    web = app.resource("scenario6-frontend")
    if isinstance(web, ContainerResource):  # the copy is mounted where the variable points
        [mount] = [v for v in web.volumes if v.source == copy]
        assert (web.env["MOSHI_TLS_CA"], mount.read_only) == (mount.target, True)
    else:
        assert web.env["MOSHI_TLS_CA"] == str(copy)


def test_published_tls_backend_shares_its_certificates_without_copies() -> None:
    app = load_apphost(APPHOST, Operation.PUBLISH, {"MOSHI_USE_SSL": "1"})
    moshi = app.resource("scenario6-moshi")
    assert isinstance(moshi, ContainerResource) and moshi.exports == []
    assert "MOSHI_TLS_CA" not in app.resource("scenario6-frontend").env


@pytest.mark.parametrize(("use_gpu", "device"), [("1", "cuda:1"), ("0", "cpu")])
def test_moshi_device_reaches_the_backend(use_gpu: str, device: str) -> None:
    overrides = {"USE_GPU": use_gpu}
    if use_gpu == "1":
        overrides["MOSHI_DEVICE"] = device
    moshi = load_app(Operation.PUBLISH, "personaplex", overrides).resource("scenario6-moshi")
    assert moshi.env["MOSHI_DEVICE"] == device


def test_a_local_model_folder_is_mounted_read_only_and_no_token_is_asked_for(
    tmp_path: Path,
) -> None:
    overrides = {"PERSONAPLEX_MODEL_DIR": str(tmp_path), "USE_GPU": "0"}
    app = load_apphost(APPHOST, Operation.RUN, overrides)
    moshi = app.resource("scenario6-moshi")
    assert isinstance(moshi, ContainerResource)
    [mount] = [v for v in moshi.volumes if v.source is not None]
    assert (mount.source, mount.read_only) == (tmp_path, True)
    assert moshi.env["MOSHI_MODEL_DIR"] == mount.target
    assert "HF_TOKEN" not in moshi.env and not app.parameters
    assert not moshi.gpus and moshi.env["MOSHI_DEVICE"] == "cpu"
    published = load_apphost(APPHOST, Operation.PUBLISH, overrides).resource("scenario6-moshi")
    assert isinstance(published, ContainerResource)
    [volume] = [v for v in published.volumes if v.target == mount.target]
    assert volume.name is not None and volume.source is None and volume.read_only
