"""The app model's gate: on with a secret parameter when publishing, off in run mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenario6.apphost import Operation, Parameter
from tests.support.appmodel import load_app

APPHOST = Path(__file__).resolve().parents[2] / "apphost.py"


@pytest.fixture(autouse=True)
def _no_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCESS_CODES", raising=False)


@pytest.mark.parametrize("backend", ["personaplex", "loopback"])
def test_publishing_gates_the_frontend_with_a_secret_parameter(backend: str) -> None:
    app = load_app(Operation.PUBLISH, backend)
    codes = app.resource("scenario6-frontend").env["ACCESS_CODES"]
    assert isinstance(codes, Parameter)
    assert codes.secret and codes.env_name == "ACCESS_CODES"
    assert "ACCESS_CODES" not in app.resource("scenario6-moshi").env


def test_run_mode_on_localhost_is_open_unless_codes_are_set() -> None:
    app = load_app(Operation.RUN, "loopback")
    assert "ACCESS_CODES" not in app.resource("scenario6-frontend").env
    gated = load_app(Operation.RUN, "loopback", {"ACCESS_CODES": "me:my-own-code-123"})
    codes = gated.resource("scenario6-frontend").env["ACCESS_CODES"]
    assert isinstance(codes, Parameter) and codes.secret
