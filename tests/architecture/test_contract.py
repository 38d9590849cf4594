"""The backend image's contract lives in scenario6.facts.contract: no other module (nor the
app model) spells its paths or volumes, and every reader of "ready" takes the contract's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.apphost import Operation
from scenario6.backend.entrypoint import BackendConfig
from scenario6.backend.healthcheck import probe_url
from scenario6.facts import contract
from scenario6.facts.kinds import BACKENDS
from scenario6.facts.names import BACKEND
from scenario6.publish import profile, spec
from scenario6.publish.options import PublishOptions
from tests.support.appmodel import APPHOST, load_app

from .literals import spelled_outside

SRC = Path(__file__).resolve().parents[2] / "src" / "scenario6"
HOME = SRC / "facts" / "contract.py"
PATHS: dict[str, object] = {
    name: getattr(contract, name)
    for name in ("HF_HOME", "CACHE_VOLUME", "MODEL_MOUNT", "MODEL_VOLUME", "CERTS_DIR")
} | {"PROBE": contract.PROBE[-1]}


def test_no_module_but_the_contract_spells_the_images_paths_or_volumes() -> None:
    found = spelled_outside(HOME, [APPHOST, *sorted(SRC.rglob("*.py"))], PATHS, SRC.parents[1])
    assert found == [], "import these from scenario6.facts.contract:\n" + "\n".join(found)


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize("operation", [Operation.RUN, Operation.PUBLISH])
def test_the_app_model_checks_the_readiness_the_contract_gives(
    kind: str, operation: Operation
) -> None:
    [check] = load_app(operation, kind).resource(BACKEND).health_checks
    assert (check.path, check.status) == (
        contract.readiness(kind).path,
        contract.readiness(kind).status,
    )


def test_the_natively_run_loopback_checks_the_same_readiness() -> None:
    app = load_app(backend="loopback", backend_placement="native")
    [check] = app.resource(BACKEND).health_checks
    assert (check.path, check.status) == ("/health", contract.readiness("loopback").status)


@pytest.mark.parametrize("kind", BACKENDS)
def test_publish_keeps_the_expected_status_and_runs_the_images_probe(kind: str) -> None:
    options = PublishOptions(backend=kind)  # type: ignore[arg-type]
    app = load_app(Operation.PUBLISH, kind, options.overrides())
    health = profile.apply(spec.describe(app), options)[BACKEND].health
    assert health is not None
    ready = contract.readiness(kind)
    assert (health.path, health.status, health.argv) == (ready.path, ready.status, contract.PROBE)


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_images_probe_asks_the_path_the_contract_gives(kind: str) -> None:
    url = probe_url(BackendConfig.from_env({"MOSHI_BACKEND": kind}))
    assert url.endswith(f":8998{contract.readiness(kind).path}")
